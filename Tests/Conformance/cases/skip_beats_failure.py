"""An upstream skip and an upstream failure: the task is Skipped, not TriggerFailed, as the
skip check comes before the trigger (test_task_runner.py::TestCheckUpstreamSkipped::
test_raises_with_skipped, with a failed upstream too)."""
from prefect import Flow, task
from prefect.engine import signals


@task(name="skipper")
def skipper():
    raise signals.SKIP("nothing to do")


@task(name="failer")
def failer():
    raise ValueError("broken")


@task(name="both")
def both(a, b):
    return "ran"


with Flow("skip_beats_failure") as flow:
    both(skipper, failer)
