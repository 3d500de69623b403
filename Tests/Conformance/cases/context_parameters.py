"""context.parameters holds every parameter of the run: given values and defaults.

From Prefect 1's tests/engine/test_flow_runner.py (FlowRunner.initialize_run fills
context["parameters"] with the defaults, then the given values) and tests/core/test_parameter.py.
"""
import prefect
from prefect import Flow, Parameter, task

PARAMETERS = {"x": 5}


@task
def read_parameters(x):
    return dict(prefect.context.parameters)


with Flow("context-parameters") as flow:
    read_parameters(Parameter("x", default=1))
    # A parameter no task uses.
    flow.add_task(Parameter("label", default="plain"))
