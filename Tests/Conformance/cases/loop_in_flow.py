"""A looping task (20 iterations) passes its final result downstream.

From Prefect 1's tests/engine/test_flow_runner.py::test_looping_works_in_a_flow.
"""
import prefect
from prefect import Flow, task
from prefect.engine import signals


@task
def looper(x):
    if prefect.context.get("task_loop_count", 1) < 20:
        raise signals.LOOP(result=prefect.context.get("task_loop_result", 0) + x)
    return prefect.context.get("task_loop_result") + x


@task
def downstream(total):
    return total ** 2


with Flow("looping") as flow:
    downstream(looper(10))
