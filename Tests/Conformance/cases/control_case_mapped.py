"""A case block around a mapped task and its reduce.

From Prefect 1's tests/tasks/test_control_flow.py::TestCase (test_case_execution) with a mapped
task inside the block, as in the docs' "Mapping" + "case" examples. Variants: the condition True
(true) or False (false).
"""
from prefect import Flow, Parameter, task
from prefect.tasks.control_flow import case

VARIANTS = {"true": {"condition": True}, "false": {"condition": False}}


@task
def numbers():
    return [1, 2, 3]


@task
def flag(value):
    return value


@task
def double(x):
    return 2 * x


@task
def total(xs):
    return sum(xs)


with Flow("control-case-mapped") as flow:
    nums = numbers()
    with case(flag(Parameter("condition")), True):
        total(double.map(nums))
