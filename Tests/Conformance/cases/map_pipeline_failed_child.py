"""Three maps in a row (a pipeline, depth-first on Dask) whose first stage fails at one child,
then a reduce that runs whatever its upstream did
(test_task_map.py::test_task_map_downstreams_handle_single_failures, one stage deeper)."""
from prefect import Flow, task
from prefect.triggers import all_finished


@task(name="first")
def first(x):
    if x == 2:
        raise ValueError("first fails at 2")
    return x


@task(name="second")
def second(x):
    return x * 10


@task(name="third")
def third(x):
    return x + 1


@task(name="gather", trigger=all_finished)
def gather(xs):
    return [x if x is not None else -1 for x in xs]


with Flow("map_pipeline_failed_child") as flow:
    gather(third.map(second.map(first.map([0, 1, 2, 3]))))
