"""A diamond: one source, two branches, one join."""
from prefect import Flow, task


@task(name="source")
def source():
    return 3


@task(name="double")
def double(x):
    return x * 2


@task(name="increment")
def increment(x):
    return x + 1


@task(name="join")
def join(left, right):
    return [left, right, "joined"]


with Flow("basic_diamond") as flow:
    s = source()
    join(double(s), increment(s))
