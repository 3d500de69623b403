-- Prefect 1: tests/test_triggers.py::test_some_successful_with_one_arg (across mapped children)
-- mixed has four children, child 1 failed. reduce_least_3 runs; reduce_most_2 is
-- TriggerFailed; each (at_least = 1) maps over mixed: [Success, TriggerFailed, Success,
-- Success]. The flow Failed.
local items = dk.task("items", function() return { 1, 2, 3, 4 } end)
local mixed = dk.task("mixed", function(x)
  if x == 2 then error("mixed failed on 2") end
  return x
end)
local reduce_least_3 = dk.task("reduce_least_3",
  { trigger = dk.triggers.some_successful { at_least = 3 } },
  function() return "ran" end)
local reduce_most_2 = dk.task("reduce_most_2",
  { trigger = dk.triggers.some_successful { at_most = 2 } },
  function() return "ran" end)
local each = dk.task("each", { trigger = dk.triggers.some_successful { at_least = 1 } },
  function(x) return "ran" end)

return Flow("trigger_some_successful_mapped", function()
  local xs = items()
  local mixed_map = mixed:map(xs)
  reduce_least_3():set_upstream(mixed_map)
  reduce_most_2():set_upstream(mixed_map)
  each:map(mixed_map)
end)
