"""Mapped children see their map_index and a task_full_name of name[index].

From Prefect 1's tests/engine/test_task_runner.py::test_task_runner_logs_map_index_for_mapped_tasks
(map_index in the context) and TaskRunner.run (task_full_name = name[map_index]).
"""
import prefect
from prefect import Flow, task


@task
def letters():
    return ["a", "b", "c"]


@task
def label(letter):
    ctx = prefect.context
    return {"letter": letter, "map_index": ctx.map_index, "task_full_name": ctx.task_full_name}


with Flow("context-mapped") as flow:
    label.map(letters())
