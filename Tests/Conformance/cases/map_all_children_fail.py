"""A flow whose only task is mapped and every child fails: the flow is Failed
(test_flow_runner.py::TestMapping::test_terminal_mapped_states_are_used_for_flow_state,
every child failing)."""
from prefect import Flow, task
from prefect.engine import signals


@task(name="always_fails")
def always_fails(x):
    raise signals.FAIL("no good: {}".format(x))


with Flow("map_all_children_fail") as flow:
    always_fails.map([1, 2, 3])
