"""some_successful with counts, plain upstreams: two successes and one failure."""
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


@task(name="least_2", trigger=triggers.some_successful(at_least=2))
def least_2():
    return "ran"


@task(name="least_3", trigger=triggers.some_successful(at_least=3))
def least_3():
    return "ran"


@task(name="most_1", trigger=triggers.some_successful(at_most=1))
def most_1():
    return "ran"


@task(name="between_1_2", trigger=triggers.some_successful(at_least=1, at_most=2))
def between_1_2():
    return "ran"


@task(name="no_bounds", trigger=triggers.some_successful())
def no_bounds():
    return "ran"


with Flow("trigger_some_successful") as flow:
    least_2(upstream_tasks=[ok_a, ok_b, bad_a])
    least_3(upstream_tasks=[ok_a, ok_b, bad_a])
    most_1(upstream_tasks=[ok_a, ok_b, bad_a])
    between_1_2(upstream_tasks=[ok_a, ok_b, bad_a])
    no_bounds(upstream_tasks=[ok_a, ok_b, bad_a])
