"""A reduce after a mapped task with a skipped child is Skipped (it sees every child), unless
skip_on_upstream_skip=False (test_task_runner.py::TestCheckUpstreamSkipped::
test_raises_if_single_mapped_upstream_skipped, in a flow)."""
from prefect import Flow, task
from prefect.engine import signals


@task(name="ll")
def ll():
    return [1, 2, 3]


@task(name="add")
def add(x):
    if x == 1:
        raise signals.SKIP("One is no good")
    return x + 1


@task(name="total")
def total(xs):
    return sum(xs)


@task(name="count_present", skip_on_upstream_skip=False)
def count_present(xs):
    # the skipped child's slot holds Prefect's SKIP signal: count the numbers only
    return len([x for x in xs if isinstance(x, int)])


with Flow("map_skipped_child_reduce") as flow:
    added = add.map(ll)
    total(added)
    count_present(added)
