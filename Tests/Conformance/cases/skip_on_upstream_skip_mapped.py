"""skip_on_upstream_skip for mapped children: each child looks at its own upstream child
(test_task_runner.py::TestCheckUpstreamSkipped::
test_doesnt_raise_if_single_mapped_upstream_skipped_and_edge_is_mapped, in a flow)."""
from prefect import Flow, task
from prefect.engine import signals


@task(name="items")
def items():
    return [1, 2, 3]


@task(name="skip_first")
def skip_first(x):
    if x == 1:
        raise signals.SKIP("one is skipped")
    return x


@task(name="each_default")
def each_default(x):
    return "ran"


@task(name="each_runs", skip_on_upstream_skip=False)
def each_runs(x):
    return "ran"


with Flow("skip_on_upstream_skip_mapped") as flow:
    skipped = skip_first.map(items)
    each_default.map(skipped)
    each_runs.map(skipped)
