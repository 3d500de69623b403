"""The not_all_skipped trigger after mapped upstreams with skipped children."""
from prefect import Flow, task, triggers
from prefect.engine import signals


@task(name="items")
def items():
    return [1, 2, 3]


@task(name="skip_mixed")
def skip_mixed(x):
    if x == 1:
        raise signals.SKIP("skip_mixed skipped 1")
    return x


@task(name="skip_all")
def skip_all(x):
    raise signals.SKIP("skip_all skipped {}".format(x))


@task(name="reduce_runs", trigger=triggers.not_all_skipped, skip_on_upstream_skip=False)
def reduce_runs():
    return "ran"


@task(name="reduce_all_skipped", trigger=triggers.not_all_skipped, skip_on_upstream_skip=False)
def reduce_all_skipped():
    return "ran"


@task(name="reduce_skipped_first", trigger=triggers.not_all_skipped)
def reduce_skipped_first():
    return "ran"


@task(name="each", trigger=triggers.not_all_skipped, skip_on_upstream_skip=False)
def each(x):
    return "ran"


with Flow("trigger_not_all_skipped_mapped") as flow:
    xs = items()
    skip_mixed_map = skip_mixed.map(xs)
    skip_all_map = skip_all.map(xs)
    reduce_runs(upstream_tasks=[skip_mixed_map])
    reduce_all_skipped(upstream_tasks=[skip_all_map])
    reduce_skipped_first(upstream_tasks=[skip_mixed_map])
    each.map(skip_mixed_map)
