-- Parameters with defaults: a value given wins, the others keep their defaults.
-- From Prefect 1's tests/core/test_parameter.py and tests/core/test_flow.py (flow.run with
-- parameters: defaults, given values, required parameters). Variants: no value given (defaults),
-- every value given (given), one value given (partial).
local greet = task("greet", function(greeting, name, times)
  local out = {}
  for i = 1, times do out[i] = greeting .. ", " .. name end
  return out
end)

return Flow("param-values", function()
  greet(Parameter("greeting", { default = "hello" }), Parameter("name", { default = "world" }),
        Parameter("times", { default = 2 }))
end)
