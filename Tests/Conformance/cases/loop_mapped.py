"""Every mapped child loops on its own: child n loops n times, summing its loop counts.

From Prefect 1's looping docs (the mapped-fibonacci example) and
tests/engine/test_task_runner.py::TestLooping::test_looping_works.
"""
import prefect
from prefect import Flow, task
from prefect.engine import signals


@task
def loops():
    return [1, 2, 3]


@task
def climb(n):
    count = prefect.context.get("task_loop_count", 1)
    total = prefect.context.get("task_loop_result", 0) + count
    if count < n:
        raise signals.LOOP(result=total)
    return total


@task
def collect(totals):
    return totals


with Flow("loop-mapped") as flow:
    collect(climb.map(loops()))
