"""A chain of three tasks passing results (ints, a float, a dict with a list)."""
from prefect import Flow, task


@task(name="one")
def one():
    return 1


@task(name="add_ten")
def add_ten(x):
    return x + 10


@task(name="describe")
def describe(x):
    return {"value": x, "half": x / 2, "items": [x, x * 2], "label": "eleven"}


with Flow("basic_linear_chain") as flow:
    describe(add_ten(one()))
