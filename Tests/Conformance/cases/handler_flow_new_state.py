"""A flow state handler that returns a new state: the failed flow ends Success.

From Prefect 1's tests/engine/test_flow_runner.py flow state handler tests
(test_flow_handlers_are_called ... and a handler's return value is the flow's new state).
"""
from prefect import Flow, task
from prefect.engine.state import Success


def forgive(flow, old_state, new_state):
    if new_state.is_failed():
        # A flow state's result is its tasks' states: keep them.
        return Success("forgiven by the flow handler", result=new_state.result)
    return new_state


@task
def broken():
    raise ValueError("boom")


@task
def fine():
    return "fine"


with Flow("handler-flow-new-state", state_handlers=[forgive]) as flow:
    broken()
    fine()
