-- Prefect 1: tests/engine/test_flow_runner.py, test_parameters_are_placed_into_context and
-- test_parameters_are_placed_into_context_including_defaults.
local scale = task("scale", function(base, factor) return base * factor end)
local label = task("label", function(value, unit) return value .. " " .. unit end)

return Flow("basic_parameters", function()
  local base = Parameter("base", { default = 4 })
  local factor = Parameter("factor", { default = 2 })
  local unit = Parameter("unit", { default = "apples" })
  label(scale(base, factor), unit)
end)
