-- Parameters with defaults, one value given: that one is used, the others keep their defaults.
-- From Prefect 1's tests/core/test_parameter.py and tests/core/test_flow.py (flow.run with
-- parameters: defaults, given values, required parameters).
local greet = task("greet", function(greeting, name, times)
  local out = {}
  for i = 1, times do out[i] = greeting .. ", " .. name end
  return out
end)

return Flow("param-partial", function()
  greet(Parameter("greeting", { default = "hello" }), Parameter("name", { default = "world" }),
        Parameter("times", { default = 2 }))
end)
