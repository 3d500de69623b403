"""ifelse(..., mapped=True) decides per element of a mapped condition; merge(mapped=True) joins.

From Prefect 1's prefect/tasks/control_flow/conditional.py (ifelse, switch and merge take
`mapped`), in the style of tests/tasks/test_control_flow.py::test_merge_diamond_flow_with_results.
"""
from prefect import Flow, task
from prefect.tasks.control_flow import ifelse, merge


@task
def numbers():
    return [1, 2, 3, 4]


@task
def is_even(x):
    return x % 2 == 0


@task
def halve(x):
    return x // 2


@task
def triple(x):
    return 3 * x


with Flow("control-ifelse-mapped") as flow:
    nums = numbers()
    even = is_even.map(nums)
    halves = halve.map(nums)
    triples = triple.map(nums)
    ifelse(even, halves, triples, mapped=True)
    merge(halves, triples, mapped=True)
