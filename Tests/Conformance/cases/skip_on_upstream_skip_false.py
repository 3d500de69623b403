"""skip_on_upstream_skip=False: the task runs after a skipped upstream
(test_task_runner.py::TestCheckUpstreamSkipped::test_doesnt_raise_with_skipped_and_flag_set)."""
from prefect import Flow, task
from prefect.engine import signals


@task(name="skipper")
def skipper():
    raise signals.SKIP("nothing to do")


@task(name="runs_anyway", skip_on_upstream_skip=False)
def runs_anyway(x):
    return "ran"


@task(name="after_runs")
def after_runs(x):
    return x + "!"


with Flow("skip_on_upstream_skip_false") as flow:
    after_runs(runs_anyway(skipper))
