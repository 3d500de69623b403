"""A task waiting on a child process longer than its timeout ends TimedOut.

From Prefect 1's tests/engine/test_flow_runner.py::test_timeout_actually_stops_execution, with the
sleep in a subprocess.
"""
import subprocess

from prefect import Flow, task


@task(timeout=1)
def run_sleep():
    subprocess.run(["sleep", "3"], check=True)
    return "done"


with Flow("timeout-subprocess") as flow:
    run_sleep()
