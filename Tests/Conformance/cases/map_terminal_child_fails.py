"""The terminal mapped task's children decide the flow's state
(test_flow_runner.py::TestMapping::test_terminal_mapped_states_are_used_for_flow_state)."""
from prefect import Flow, task


@task(name="return_task")
def return_task(x):
    return 1 / (x - 1)


with Flow("map_terminal_child_fails") as flow:
    return_task.map([0, 1])
