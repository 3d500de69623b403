"""some_successful with counts after a mapped upstream: three of four children succeeded."""
from prefect import Flow, task, triggers


@task(name="items")
def items():
    return [1, 2, 3, 4]


@task(name="mixed")
def mixed(x):
    if x == 2:
        raise ValueError("mixed failed on 2")
    return x


@task(name="reduce_least_3", trigger=triggers.some_successful(at_least=3))
def reduce_least_3():
    return "ran"


@task(name="reduce_most_2", trigger=triggers.some_successful(at_most=2))
def reduce_most_2():
    return "ran"


@task(name="each", trigger=triggers.some_successful(at_least=1))
def each(x):
    return "ran"


with Flow("trigger_some_successful_mapped") as flow:
    xs = items()
    mixed_map = mixed.map(xs)
    reduce_least_3(upstream_tasks=[mixed_map])
    reduce_most_2(upstream_tasks=[mixed_map])
    each.map(mixed_map)
