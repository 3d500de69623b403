"""A skipped upstream skips even an all_finished task: the skip check comes before the trigger
(test_task_runner.py::TestCheckUpstreamSkipped and TestCheckTaskTrigger::test_all_finished_pass,
in the order TaskRunner.run asks them)."""
from prefect import Flow, task, triggers
from prefect.engine import signals


@task(name="skipper")
def skipper():
    raise signals.SKIP("nothing to do")


@task(name="finished_default", trigger=triggers.all_finished)
def finished_default(x):
    return "ran"


@task(name="finished_no_skip", trigger=triggers.all_finished, skip_on_upstream_skip=False)
def finished_no_skip(x):
    return "ran"


with Flow("skip_then_all_finished") as flow:
    s = skipper()
    finished_default(s)
    finished_no_skip(s)
