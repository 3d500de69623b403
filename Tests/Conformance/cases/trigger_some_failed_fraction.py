"""some_failed with fractions, plain upstreams: 2 of 4 failed."""
from prefect import Flow, task, triggers


@task(name="ok_a")
def ok_a():
    return 1


@task(name="ok_b")
def ok_b():
    return 2


@task(name="bad_a")
def bad_a():
    raise ValueError("bad_a failed")


@task(name="bad_b")
def bad_b():
    raise ValueError("bad_b failed")


@task(name="least_half", trigger=triggers.some_failed(at_least=0.5))
def least_half():
    return "ran"


@task(name="most_quarter", trigger=triggers.some_failed(at_most=0.25))
def most_quarter():
    return "ran"


@task(name="between", trigger=triggers.some_failed(at_least=0.1, at_most=0.6))
def between():
    return "ran"


@task(name="least_0_6", trigger=triggers.some_failed(at_least=0.6))
def least_0_6():
    return "ran"


with Flow("trigger_some_failed_fraction") as flow:
    least_half(upstream_tasks=[ok_a, ok_b, bad_a, bad_b])
    most_quarter(upstream_tasks=[ok_a, ok_b, bad_a, bad_b])
    between(upstream_tasks=[ok_a, ok_b, bad_a, bad_b])
    least_0_6(upstream_tasks=[ok_a, ok_b, bad_a, bad_b])
