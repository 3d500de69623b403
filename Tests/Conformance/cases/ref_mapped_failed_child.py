"""A mapped reference task with one failed child fails the flow, though the terminal task
succeeds (test_flow_runner.py::TestMapping::test_terminal_mapped_states_are_used_for_flow_state,
with the mapped task as reference task)."""
from prefect import Flow, task, triggers


@task(name="items")
def items():
    return [0, 1, 2]


@task(name="return_task")
def return_task(x):
    return 1 / (x - 1)


@task(name="report", trigger=triggers.all_finished)
def report(xs):
    return "done"


with Flow("ref_mapped_failed_child") as flow:
    mapped = return_task.map(items)
    report(mapped)

flow.set_reference_tasks([mapped])
