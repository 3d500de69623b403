"""A task reads its own fields from the context: task_name, task_full_name, task_tags, flow_name.

From Prefect 1's tests/engine/test_task_runner.py (initialize_run puts task_name and task_tags
in the context; run() sets task_full_name) and tests/engine/test_flow_runner.py (flow_name).
"""
import prefect
from prefect import Flow, task


@task(name="describe", tags=["beta", "alpha"])
def describe():
    ctx = prefect.context
    return {
        "task_name": ctx.task_name,
        "task_full_name": ctx.task_full_name,
        "task_tags": sorted(ctx.task_tags),
        "flow_name": ctx.flow_name,
    }


with Flow("context-task-fields") as flow:
    describe()
