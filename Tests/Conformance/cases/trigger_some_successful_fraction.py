"""some_successful with fractions (bounds below 1), plain upstreams: 3 of 4 succeeded."""
from prefect import Flow, task, triggers


@task(name="ok_a")
def ok_a():
    return 1


@task(name="ok_b")
def ok_b():
    return 2


@task(name="ok_c")
def ok_c():
    return 3


@task(name="bad_a")
def bad_a():
    raise ValueError("bad_a failed")


@task(name="least_half", trigger=triggers.some_successful(at_least=0.5))
def least_half():
    return "ran"


@task(name="least_0_8", trigger=triggers.some_successful(at_least=0.8))
def least_0_8():
    return "ran"


@task(name="most_half", trigger=triggers.some_successful(at_most=0.5))
def most_half():
    return "ran"


@task(name="between", trigger=triggers.some_successful(at_least=0.7, at_most=0.8))
def between():
    return "ran"


with Flow("trigger_some_successful_fraction") as flow:
    least_half(upstream_tasks=[ok_a, ok_b, ok_c, bad_a])
    least_0_8(upstream_tasks=[ok_a, ok_b, ok_c, bad_a])
    most_half(upstream_tasks=[ok_a, ok_b, ok_c, bad_a])
    between(upstream_tasks=[ok_a, ok_b, ok_c, bad_a])
