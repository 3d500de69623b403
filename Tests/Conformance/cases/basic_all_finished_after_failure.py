"""all_finished runs after a failure; the flow follows its terminal task and succeeds."""
from prefect import Flow, task
from prefect.triggers import all_finished


@task(name="boom")
def boom():
    raise ValueError("custom-error-message")


@task(name="fine")
def fine():
    return 1


@task(name="cleanup", trigger=all_finished)
def cleanup(a, b):
    return "cleaned"


with Flow("basic_all_finished_after_failure") as flow:
    cleanup(boom(), fine())
