"""on_failure callbacks on a task and a flow run on failure and do not change any state.

From Prefect 1's tests/engine/test_task_runner.py::TestTaskStateHandlers::
test_task_on_failure_is_called,
test_task_on_failure_is_not_called and test_task_on_trigger_failure_is_called, and the flow
runner's test_flow_on_failure_is_called.
"""
from prefect import Flow, task

calls = []


def noted(obj, state):
    calls.append((obj.name, type(state).__name__))


@task(on_failure=noted)
def broken():
    raise ValueError("boom")


@task(on_failure=noted)
def downstream(x):
    return x


@task(on_failure=noted)
def fine():
    return "fine"


with Flow("handler-on-failure", on_failure=noted) as flow:
    downstream(broken())
    fine()
