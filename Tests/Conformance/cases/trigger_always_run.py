"""always_run, the alias of all_finished, after a plain and a mapped upstream that failed."""
from prefect import Flow, task, triggers


@task(name="items")
def items():
    return [1, 2, 3]


@task(name="bad_a")
def bad_a():
    raise ValueError("bad_a failed")


@task(name="mixed")
def mixed(x):
    if x == 2:
        raise ValueError("mixed failed on 2")
    return x


@task(name="after_failure", trigger=triggers.always_run)
def after_failure():
    return "ran"


@task(name="reduce_runs", trigger=triggers.always_run)
def reduce_runs():
    return "ran"


@task(name="each", trigger=triggers.always_run)
def each(x):
    return "ran"


with Flow("trigger_always_run") as flow:
    xs = items()
    mixed_map = mixed.map(xs)
    after_failure(upstream_tasks=[bad_a])
    reduce_runs(upstream_tasks=[mixed_map])
    each.map(mixed_map)
