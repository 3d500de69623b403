"""A SKIP signal skips a task; a Skipped upstream skips its downstream unless it opts out."""
from prefect import Flow, task
from prefect.engine import signals


@task(name="maybe")
def maybe():
    raise signals.SKIP("nothing to do")


@task(name="after")
def after(x):
    return "never"


@task(name="after_after")
def after_after(x):
    return "never either"


@task(name="regardless", skip_on_upstream_skip=False)
def regardless(x):
    return "ran anyway"


with Flow("basic_skip_propagation") as flow:
    m = maybe()
    after_after(after(m))
    regardless(m)
