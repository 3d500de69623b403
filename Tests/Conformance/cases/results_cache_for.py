"""Tasks with cache_for end Cached (Prefect's cache_result), each mapped child too, whatever
their validator, and the tasks after them receive the cached values."""
from datetime import timedelta

from prefect import Flow, Parameter, task
from prefect.engine import cache_validators

HOUR = timedelta(hours=1)
PARAMETERS = {"factor": 3}


@task(name="double", cache_for=HOUR, cache_validator=cache_validators.all_inputs)
def double(x):
    return x * 2


@task(name="scale", cache_for=HOUR, cache_validator=cache_validators.partial_parameters_only(["factor"]))
def scale(xs, factor):
    return [x * factor for x in xs]


@task(name="total", cache_for=HOUR, cache_validator=cache_validators.all_parameters)
def total(xs):
    return sum(xs)


@task(name="first", cache_for=HOUR, cache_validator=cache_validators.partial_inputs_only(["xs"]))
def first(xs, unused):
    return xs[0]


@task(name="label", cache_for=HOUR)
def label():
    return "cached"


@task(name="report")
def report(t, f, l):
    return f"{l}: {t} {f}"


with Flow("results_cache_for") as flow:
    factor = Parameter("factor")
    scaled = scale(double.map([1, 2, 3]), factor)
    report(total(scaled), first(scaled, 7), label())
