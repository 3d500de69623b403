-- Prefect 1: tests/test_triggers.py::test_some_successful_does_the_math (across mapped children)
-- reduce_least_0_75 (3) runs; reduce_most_half (2) is TriggerFailed; each (at_least = 0.5 of
-- one upstream child) maps over mixed: [Success, TriggerFailed, Success, Success]. The flow
-- Failed.
local items = dk.task("items", function() return { 1, 2, 3, 4 } end)
local mixed = dk.task("mixed", function(x)
  if x == 2 then error("mixed failed on 2") end
  return x
end)
local reduce_least_0_75 = dk.task("reduce_least_0_75",
  { trigger = dk.triggers.some_successful { at_least = 0.75 } },
  function() return "ran" end)
local reduce_most_half = dk.task("reduce_most_half",
  { trigger = dk.triggers.some_successful { at_most = 0.5 } },
  function() return "ran" end)
local each = dk.task("each", { trigger = dk.triggers.some_successful { at_least = 0.5 } },
  function(x) return "ran" end)

return Flow("trigger_some_successful_fraction_mapped", function()
  local xs = items()
  local mixed_map = mixed:map(xs)
  reduce_least_0_75():set_upstream(mixed_map)
  reduce_most_half():set_upstream(mixed_map)
  each:map(mixed_map)
end)
