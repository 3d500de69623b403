"""The all_finished trigger after mapped upstreams with failed children."""
from prefect import Flow, task, triggers


@task(name="items")
def items():
    return [1, 2, 3]


@task(name="mixed")
def mixed(x):
    if x == 2:
        raise ValueError("mixed failed on 2")
    return x


@task(name="all_bad")
def all_bad(x):
    raise ValueError("all_bad failed on {}".format(x))


@task(name="reduce_runs", trigger=triggers.all_finished)
def reduce_runs():
    return "ran"


@task(name="each", trigger=triggers.all_finished)
def each(x):
    return "ran"


with Flow("trigger_all_finished_mapped") as flow:
    xs = items()
    mixed_map = mixed.map(xs)
    all_bad_map = all_bad.map(xs)
    reduce_runs(upstream_tasks=[mixed_map, all_bad_map])
    each.map(all_bad_map)
