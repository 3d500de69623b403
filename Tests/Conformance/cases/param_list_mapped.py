"""A list parameter mapped over, and a dict parameter passed whole to every child.

From Prefect 1's tests/core/test_task_map.py (mapping over a Parameter, test_map_over_parameters)
and tests/core/test_parameter.py.
"""
from prefect import Flow, Parameter, task, unmapped

PARAMETERS = {"items": [1, 2, 3], "config": {"scale": 10, "unit": "cm"}}


@task
def measure(item, config):
    return "%d %s" % (item * config["scale"], config["unit"])


with Flow("param-list-mapped") as flow:
    measure.map(Parameter("items"), unmapped(Parameter("config")))
