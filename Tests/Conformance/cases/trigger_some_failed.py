"""some_failed with counts, plain upstreams: one success and two failures."""
from prefect import Flow, task, triggers


@task(name="ok_a")
def ok_a():
    return 1


@task(name="bad_a")
def bad_a():
    raise ValueError("bad_a failed")


@task(name="bad_b")
def bad_b():
    raise ValueError("bad_b failed")


@task(name="least_2", trigger=triggers.some_failed(at_least=2))
def least_2():
    return "ran"


@task(name="least_3", trigger=triggers.some_failed(at_least=3))
def least_3():
    return "ran"


@task(name="most_1", trigger=triggers.some_failed(at_most=1))
def most_1():
    return "ran"


@task(name="no_bounds", trigger=triggers.some_failed())
def no_bounds():
    return "ran"


with Flow("trigger_some_failed") as flow:
    least_2(upstream_tasks=[ok_a, bad_a, bad_b])
    least_3(upstream_tasks=[ok_a, bad_a, bad_b])
    most_1(upstream_tasks=[ok_a, bad_a, bad_b])
    no_bounds(upstream_tasks=[ok_a, bad_a, bad_b])
