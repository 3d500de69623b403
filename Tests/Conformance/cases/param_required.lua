-- A required parameter (no default) given a value, next to one with a default.
-- From Prefect 1's tests/core/test_parameter.py::test_create_required_parameter and
-- tests/core/test_flow.py (flow.run(parameters=...) for required parameters).
local add = task("add", function(x, y) return x + y end)

return Flow("param-required", function()
  add(Parameter("x"), Parameter("y", { default = 10 }))
end)
