"""A mapped reference task with no children: no reference state failed, the flow succeeds
though a terminal task failed (test_task_map.py::test_map_handles_upstream_empty, as the
reference task)."""
from prefect import Flow, task


@task(name="make_list")
def make_list():
    return []


@task(name="add")
def add(x):
    return x + 1


@task(name="failer")
def failer():
    raise ValueError("broken")


with Flow("ref_mapped_empty") as flow:
    mapped = add.map(make_list)
    failer()

flow.set_reference_tasks([mapped])
