"""A task that fails twice and succeeds on its third attempt (max_retries=2, no delay)."""
from datetime import timedelta

import prefect
from prefect import Flow, task


@task(name="flaky", max_retries=2, retry_delay=timedelta(0))
def flaky():
    attempt = prefect.context.task_run_count
    if attempt < 3:
        raise RuntimeError(f"transient failure on attempt {attempt}")
    return f"ok on attempt {attempt}"


@task(name="always_fails", max_retries=1, retry_delay=timedelta(0))
def always_fails():
    raise RuntimeError(f"failure on attempt {prefect.context.task_run_count}")


@task(name="use")
def use(x):
    return x + "!"


with Flow("basic_retries") as flow:
    use(flaky())
    always_fails()
