"""ifelse picks one of two chains of three tasks; the other chain skips; merge joins them.

From Prefect 1's tests/tasks/test_control_flow.py::test_merging_diamond_flow (CONDITION=True), the
condition coming from a task instead of the context.
"""
from prefect import Flow, task
from prefect.tasks.control_flow import ifelse, merge


@task
def condition():
    return True


def branch_task(name, value):
    @task(name=name)
    def step():
        return value
    return step


with Flow("control-ifelse-diamond") as flow:
    true_branch = [branch_task("true_branch_%d" % i, i)() for i in range(3)]
    false_branch = [branch_task("false_branch_%d" % i, 10 + i)() for i in range(3)]
    ifelse(condition(), true_branch[0], false_branch[0])
    flow.chain(*true_branch)
    flow.chain(*false_branch)
    merge(true_branch[-1], false_branch[-1])
