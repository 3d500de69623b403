"""A case block around a mapped task and its reduce (condition True).

From Prefect 1's tests/tasks/test_control_flow.py::TestCase (test_case_execution) with a mapped
task inside the block, as in the docs' "Mapping" + "case" examples.
"""
from prefect import Flow, task
from prefect.tasks.control_flow import case


@task
def numbers():
    return [1, 2, 3]


@task
def flag():
    return True


@task
def double(x):
    return 2 * x


@task
def total(xs):
    return sum(xs)


with Flow("control-case-mapped") as flow:
    nums = numbers()
    with case(flag(), True):
        total(double.map(nums))
