"""The flow's state follows its reference task (Failed), not its terminal one (Success)."""
from prefect import Flow, task
from prefect.triggers import all_finished


@task(name="boom")
def boom():
    raise ValueError("custom-error-message")


@task(name="report", trigger=all_finished)
def report(x):
    return "reported"


with Flow("basic_reference_tasks") as flow:
    b = boom()
    report(b)

flow.set_reference_tasks([b])
