"""A mapped task with an unmapped, non-data upstream: each child's all_failed trigger sees it
(test_task_map.py::test_map_tracks_non_mapped_upstream_tasks)."""
from prefect import Flow, task, triggers, unmapped


@task(name="zeros")
def zeros():
    return [0, 0, 0]


def div_fn(x):
    return 1 / x


div_each = task(div_fn, name="div_each")
div_one = task(div_fn, name="div_one")


@task(name="register", trigger=triggers.all_failed)
def register(x):
    return True


with Flow("map_unmapped_upstream_trigger") as flow:
    register.map(div_each.map(zeros()), upstream_tasks=[unmapped(div_one(1))])
