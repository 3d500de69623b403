"""A reference task that skipped: Skipped counts as success, so the flow succeeds though a
terminal task failed (test_flow_runner.py::test_flow_run_state_determined_by_reference_tasks,
with a skipped reference task)."""
from prefect import Flow, task
from prefect.engine import signals


@task(name="skipper")
def skipper():
    raise signals.SKIP("not today")


@task(name="failer")
def failer():
    raise ValueError("broken")


with Flow("ref_skipped", tasks=[skipper, failer]) as flow:
    pass

flow.set_reference_tasks([skipper])
