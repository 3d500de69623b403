"""Mapped lists of different lengths: map stops at the shortest, like zip
(test_task_map.py::test_map_behaves_like_zip_with_differing_length_results)."""
from prefect import Flow, task


@task(name="ll_3")
def ll_3():
    return [0, 1, 2]


@task(name="ll_2")
def ll_2():
    return [0, 1]


@task(name="add")
def add(x, y):
    return x + y


with Flow("map_zip_shortest") as flow:
    add.map(x=ll_3, y=ll_2)
