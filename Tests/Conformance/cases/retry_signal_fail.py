"""signals.FAIL is retried like any failure: FAIL on the first run, success on the second.

From Prefect 1's tests/engine/test_task_runner.py::test_task_that_raises_fail_is_marked_fail and
the retry tests (check_for_retry applies to every Failed state but TriggerFailed).
"""
import datetime

import prefect
from prefect import Flow, task
from prefect.engine import signals


@task(max_retries=1, retry_delay=datetime.timedelta(seconds=0))
def fail_once():
    if prefect.context.get("task_run_count") == 1:
        raise signals.FAIL("first run fails")
    return "second run"


with Flow("retry-signal-fail") as flow:
    fail_once()
