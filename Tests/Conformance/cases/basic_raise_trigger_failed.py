"""A task that raises is Failed; its downstream task is TriggerFailed; the flow is Failed."""
from prefect import Flow, task


@task(name="ok")
def ok():
    return "fine"


@task(name="boom")
def boom(x):
    raise ValueError("custom-error-message")


@task(name="after")
def after(x):
    return "never"


with Flow("basic_raise_trigger_failed") as flow:
    after(boom(ok()))
