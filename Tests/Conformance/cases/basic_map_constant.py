"""A task mapped over a constant list, and a reduce over its results."""
from prefect import Flow, task


@task(name="square")
def square(x):
    return x * x


@task(name="total")
def total(xs):
    return sum(xs)


with Flow("basic_map_constant") as flow:
    total(square.map([1, 2, 3, 4]))
