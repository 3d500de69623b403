"""The run's context fields exist with their Prefect formats: ids, run name and dates.

From Prefect 1's tests/engine/test_flow_runner.py (FlowRunner.initialize_run's dates: today,
yesterday, tomorrow and their _nodash forms) and the flow_run_id / task_run_id context tests.
The values change every run, so the task returns checks of their form.
"""
import datetime

import prefect
from prefect import Flow, task


@task
def check_context():
    ctx = prefect.context
    day = datetime.date.fromisoformat(ctx.today)
    return {
        "flow_run_id": isinstance(ctx.flow_run_id, str) and len(ctx.flow_run_id) > 0,
        "flow_run_name": isinstance(ctx.flow_run_name, str) and len(ctx.flow_run_name) > 0,
        "task_run_id": isinstance(ctx.task_run_id, str) and len(ctx.task_run_id) > 0,
        "today_nodash": ctx.today_nodash == ctx.today.replace("-", ""),
        "yesterday": ctx.yesterday == (day - datetime.timedelta(days=1)).isoformat(),
        "tomorrow": ctx.tomorrow == (day + datetime.timedelta(days=1)).isoformat(),
        "yesterday_nodash": ctx.yesterday_nodash == ctx.yesterday.replace("-", ""),
        "tomorrow_nodash": ctx.tomorrow_nodash == ctx.tomorrow.replace("-", ""),
        "task_run_count": ctx.task_run_count,
    }


with Flow("context-run-fields") as flow:
    check_context()
