-- dk.context.parameters holds every parameter of the run: given values and defaults.
-- From Prefect 1's tests/engine/test_flow_runner.py (FlowRunner.initialize_run fills
-- context["parameters"] with the defaults, then the given values) and tests/core/test_parameter.py.
local read_parameters = task("read_parameters", function(x)
  local out = {}
  for k, v in pairs(dk.context.parameters) do out[k] = v end
  return out
end)

return Flow("context-parameters", function(flow)
  read_parameters(Parameter("x", { default = 1 }))
  -- A parameter no task uses, as in the Python twin.
  flow:add_task(Parameter("label", { default = "plain" }))
end)
