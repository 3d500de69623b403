"""some_failed with fractions after a mapped upstream: 1 of 4 children failed."""
from prefect import Flow, task, triggers


@task(name="items")
def items():
    return [1, 2, 3, 4]


@task(name="mixed")
def mixed(x):
    if x == 2:
        raise ValueError("mixed failed on 2")
    return x


@task(name="reduce_least_quarter", trigger=triggers.some_failed(at_least=0.25))
def reduce_least_quarter():
    return "ran"


@task(name="reduce_least_half", trigger=triggers.some_failed(at_least=0.5))
def reduce_least_half():
    return "ran"


@task(name="reduce_most_0_3", trigger=triggers.some_failed(at_most=0.3))
def reduce_most_0_3():
    return "ran"


with Flow("trigger_some_failed_fraction_mapped") as flow:
    xs = items()
    mixed_map = mixed.map(xs)
    reduce_least_quarter(upstream_tasks=[mixed_map])
    reduce_least_half(upstream_tasks=[mixed_map])
    reduce_most_0_3(upstream_tasks=[mixed_map])
