"""The largest Fibonacci number below M, carrying a dict between LOOP iterations.

From Prefect 1's docs (core/advanced_tutorials/task-looping.md, compute_large_fibonacci), with the
API call replaced by the recurrence.
"""
import prefect
from prefect import Flow, Parameter, task
from prefect.engine import signals


@task
def largest_fibonacci(limit):
    payload = prefect.context.get("task_loop_result", {"previous": 1, "current": 1})
    following = payload["previous"] + payload["current"]
    if following > limit:
        return payload["current"]
    raise signals.LOOP(message="fib %d" % following,
                       result={"previous": payload["current"], "current": following})


with Flow("loop-payload") as flow:
    largest_fibonacci(Parameter("limit", default=100))
