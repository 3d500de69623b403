"""A task waiting on an HTTP answer longer than its timeout ends TimedOut; the task after it is
TriggerFailed and an independent task still succeeds.

From Prefect 1's tests/engine/test_task_runner.py::test_task_runner_can_handle_timeouts_by_default,
with a request to a server that answers after 5 s (the runner's SlowServer, whose address is in
$CONFORMANCE_SLOW_URL) in place of the sleep.
"""
import os

import requests
from prefect import Flow, task


@task(timeout=1)
def fetch():
    return requests.get(os.environ["CONFORMANCE_SLOW_URL"], timeout=30).text


@task
def parse(text):
    return text.strip()


@task
def quick():
    return "quick"


with Flow("timeout-http") as flow:
    parse(fetch())
    quick()
