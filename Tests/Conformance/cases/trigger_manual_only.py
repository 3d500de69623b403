"""The manual_only trigger pauses its task; its downstream waits (test_task_runner.py::
test_task_runner_converts_pause_signal_to_paused_state_for_manual_only_triggers, in a flow).

flow.run() asks on stdin whether to resume a Paused task; FlowRunner.run() does not: it
returns the flow Running, manual Paused and after_manual Pending."""
from prefect import Flow, task, triggers



@task(name="ok_a")
def ok_a():
    return 1


@task(name="manual", trigger=triggers.manual_only)
def manual(x):
    return x + 1


@task(name="after_manual")
def after_manual(x):
    return x


with Flow("trigger_manual_only") as flow:
    after_manual(manual(ok_a))
