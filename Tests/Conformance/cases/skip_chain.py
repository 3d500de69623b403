"""A skip travels down a chain; a sibling branch is untouched
(test_task_runner.py::test_task_that_has_upstream_skip_gets_skipped_with_informative_message,
over several tasks)."""
from prefect import Flow, task
from prefect.engine import signals


@task(name="start")
def start():
    return 1


@task(name="skipper")
def skipper(x):
    raise signals.SKIP("stop here")


@task(name="step_1")
def step_1(x):
    return x + 1


@task(name="step_2")
def step_2(x):
    return x + 1


@task(name="step_3")
def step_3(x):
    return x + 1


@task(name="sibling")
def sibling(x):
    return x + 10


with Flow("skip_chain") as flow:
    s = start()
    step_3(step_2(step_1(skipper(s))))
    sibling(s)
