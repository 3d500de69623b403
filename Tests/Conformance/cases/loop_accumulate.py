"""A task loops 3 times, each iteration adding one to the previous iteration's result.

From Prefect 1's tests/engine/test_task_runner.py::TestLooping::test_looping_accumulates.
"""
import prefect
from prefect import Flow, task
from prefect.engine import signals


@task
def accumulate():
    current = prefect.context.get("task_loop_result", 0)
    if prefect.context.get("task_loop_count", 1) < 3:
        raise signals.LOOP(result=current + 1)
    return current + 1


with Flow("loop-accumulate") as flow:
    accumulate()
