-- Prefect 1: tests/test_triggers.py::test_some_failed_does_the_math (across mapped children)
-- reduce_least_quarter (1) runs; reduce_least_half (2) is TriggerFailed; reduce_most_0_3 (1.2)
-- runs. The flow Failed.
local items = dk.task("items", function() return { 1, 2, 3, 4 } end)
local mixed = dk.task("mixed", function(x)
  if x == 2 then error("mixed failed on 2") end
  return x
end)
local reduce_least_quarter = dk.task("reduce_least_quarter",
  { trigger = dk.triggers.some_failed { at_least = 0.25 } },
  function() return "ran" end)
local reduce_least_half = dk.task("reduce_least_half",
  { trigger = dk.triggers.some_failed { at_least = 0.5 } },
  function() return "ran" end)
local reduce_most_0_3 = dk.task("reduce_most_0_3",
  { trigger = dk.triggers.some_failed { at_most = 0.3 } },
  function() return "ran" end)

return Flow("trigger_some_failed_fraction_mapped", function()
  local xs = items()
  local mixed_map = mixed:map(xs)
  reduce_least_quarter():set_upstream(mixed_map)
  reduce_least_half():set_upstream(mixed_map)
  reduce_most_0_3():set_upstream(mixed_map)
end)
