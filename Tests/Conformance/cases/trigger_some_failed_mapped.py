"""some_failed with counts after a mapped upstream: one of four children failed."""
from prefect import Flow, task, triggers


@task(name="items")
def items():
    return [1, 2, 3, 4]


@task(name="mixed")
def mixed(x):
    if x == 2:
        raise ValueError("mixed failed on 2")
    return x


@task(name="reduce_least_1", trigger=triggers.some_failed(at_least=1))
def reduce_least_1():
    return "ran"


@task(name="reduce_least_2", trigger=triggers.some_failed(at_least=2))
def reduce_least_2():
    return "ran"


@task(name="reduce_most_0", trigger=triggers.some_failed(at_most=0))
def reduce_most_0():
    return "ran"


@task(name="each", trigger=triggers.some_failed(at_least=1))
def each(x):
    return "ran"


with Flow("trigger_some_failed_mapped") as flow:
    xs = items()
    mixed_map = mixed.map(xs)
    reduce_least_1(upstream_tasks=[mixed_map])
    reduce_least_2(upstream_tasks=[mixed_map])
    reduce_most_0(upstream_tasks=[mixed_map])
    each.map(mixed_map)
