"""The all_successful trigger after mapped upstreams: a reduce sees every child, a mapped child sees
its own upstream child."""
from prefect import Flow, task, triggers


@task(name="items")
def items():
    return [1, 2, 3]


@task(name="mixed")
def mixed(x):
    if x == 2:
        raise ValueError("mixed failed on 2")
    return x


@task(name="all_ok")
def all_ok(x):
    return x


@task(name="reduce_runs", trigger=triggers.all_successful)
def reduce_runs():
    return "ran"


@task(name="reduce_fails", trigger=triggers.all_successful)
def reduce_fails():
    return "ran"


@task(name="each", trigger=triggers.all_successful)
def each(x):
    return "ran"


with Flow("trigger_all_successful_mapped") as flow:
    xs = items()
    mixed_map = mixed.map(xs)
    all_ok_map = all_ok.map(xs)
    reduce_runs(upstream_tasks=[all_ok_map])
    reduce_fails(upstream_tasks=[mixed_map])
    each.map(mixed_map)
