"""Parameters: one given at run time, one left at its default."""
from prefect import Flow, Parameter, task

PARAMETERS = {"factor": 10}


@task(name="scale")
def scale(base, factor):
    return base * factor


@task(name="label")
def label(value, unit):
    return f"{value} {unit}"


with Flow("basic_parameters") as flow:
    base = Parameter("base", default=4)
    factor = Parameter("factor", default=2)
    unit = Parameter("unit", default="apples")
    label(scale(base, factor), unit)
