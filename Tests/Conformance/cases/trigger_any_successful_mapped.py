"""The any_successful trigger after mapped upstreams."""
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


@task(name="reduce_runs", trigger=triggers.any_successful)
def reduce_runs():
    return "ran"


@task(name="reduce_fails", trigger=triggers.any_successful)
def reduce_fails():
    return "ran"


@task(name="each", trigger=triggers.any_successful)
def each(x):
    return "ran"


with Flow("trigger_any_successful_mapped") as flow:
    xs = items()
    mixed_map = mixed.map(xs)
    all_bad_map = all_bad.map(xs)
    reduce_runs(upstream_tasks=[mixed_map])
    reduce_fails(upstream_tasks=[all_bad_map])
    each.map(mixed_map)
