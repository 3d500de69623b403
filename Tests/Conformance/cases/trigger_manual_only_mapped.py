"""The manual_only trigger on a mapped task: the parent maps (its trigger is not asked), every
child pauses (test_task_runner.py::
test_mapped_tasks_parents_and_children_respond_to_individual_triggers with manual_only, in a
flow).

flow.run() asks on stdin whether to resume a Paused task; FlowRunner.run() does not: it
returns the flow Running, manual_each Mapped with two Paused children."""
from prefect import Flow, task, triggers



@task(name="items")
def items():
    return [1, 2]


@task(name="manual_each", trigger=triggers.manual_only)
def manual_each(x):
    return x


with Flow("trigger_manual_only_mapped") as flow:
    manual_each.map(items)
