"""some_successful with fractions after a mapped upstream: 3 of 4 children succeeded."""
from prefect import Flow, task, triggers


@task(name="items")
def items():
    return [1, 2, 3, 4]


@task(name="mixed")
def mixed(x):
    if x == 2:
        raise ValueError("mixed failed on 2")
    return x


@task(name="reduce_least_0_75", trigger=triggers.some_successful(at_least=0.75))
def reduce_least_0_75():
    return "ran"


@task(name="reduce_most_half", trigger=triggers.some_successful(at_most=0.5))
def reduce_most_half():
    return "ran"


@task(name="each", trigger=triggers.some_successful(at_least=0.5))
def each(x):
    return "ran"


with Flow("trigger_some_successful_fraction_mapped") as flow:
    xs = items()
    mixed_map = mixed.map(xs)
    reduce_least_0_75(upstream_tasks=[mixed_map])
    reduce_most_half(upstream_tasks=[mixed_map])
    each.map(mixed_map)
