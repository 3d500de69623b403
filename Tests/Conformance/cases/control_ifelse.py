"""ifelse runs one branch, the other skips; merge returns the branch's result.

Variants:
- false: the condition False runs the false branch, from Prefect 1's
  tests/tasks/test_control_flow.py::test_merge_diamond_flow_with_results (CONDITION=False), the
  condition coming from a task.
- none_result: the condition True runs the true branch, which returns None: merge tells it from
  a branch that did not run, its result is None. From
  test_merge_can_distinguish_between_a_none_result_and_an_unrun_task (CONDITION=True).
"""
from prefect import Flow, Parameter, task
from prefect.tasks.control_flow import ifelse, merge

VARIANTS = {
    "false": {"condition_value": False, "true_result": 1},
    "none_result": {"condition_value": True, "true_result": None},
}


@task
def condition(value):
    return value


@task
def true_branch(result):
    return result


@task
def false_branch():
    return 0


with Flow("control-ifelse") as flow:
    true_result = true_branch(Parameter("true_result"))
    ifelse(condition(Parameter("condition_value")), true_result, false_branch)
    merge(true_result, false_branch)
