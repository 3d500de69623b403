"""A state handler on a mapped task runs for every child: failed children become Success(0).

From Prefect 1's tests/engine/test_task_runner.py::TestTaskRunnerStateHandlers::
test_task_runner_handlers_are_called_on_mapped_parent and the task handler tests.
"""
from prefect import Flow, task
from prefect.engine.state import Success


def zero_on_failure(task, old_state, new_state):
    if new_state.is_failed():
        return Success("replaced by the handler", result=0)
    return new_state


@task
def numbers():
    return [1, 2, 3]


@task(state_handlers=[zero_on_failure])
def picky(x):
    if x == 2:
        raise ValueError("no twos")
    return 10 * x


@task
def total(xs):
    return sum(xs)


with Flow("handler-mapped") as flow:
    total(picky.map(numbers()))
