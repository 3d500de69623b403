"""A task failing on its first two runs succeeds on its last allowed attempt.

From Prefect 1's tests/engine/test_task_runner.py::
test_task_that_fails_gets_retried_up_to_max_retry_time
(here the third run succeeds) and tests/engine/test_flow_runner.py retry tests.
"""
import datetime

import prefect
from prefect import Flow, task


@task(max_retries=2, retry_delay=datetime.timedelta(seconds=0))
def flaky():
    run = prefect.context.get("task_run_count")
    if run < 3:
        raise ValueError("transient failure on run %d" % run)
    return "ok on run %d" % run


@task
def after(x):
    return x + "!"


with Flow("retry-last-attempt") as flow:
    after(flaky())
