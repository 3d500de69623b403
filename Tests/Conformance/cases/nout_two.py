"""A task with nout=2 returns two values; each is used by its own downstream task.

From Prefect 1's tests/core/test_task.py (nout: `a, b = task()` gives two result handles) and
tests/core/test_flow.py (test_functional_task_with_nout... style).
"""
from prefect import Flow, task


@task(nout=2)
def split():
    return "left", 2


@task
def shout(word):
    return word.upper()


@task
def square(n):
    return n * n


@task
def join(word, n):
    return "%s-%d" % (word, n)


with Flow("nout-two") as flow:
    word, number = split()
    shout(word)
    square(number)
    join(word, number)
