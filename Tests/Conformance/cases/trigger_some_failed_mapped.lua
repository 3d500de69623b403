-- Prefect 1: tests/test_triggers.py::test_some_failed_with_one_arg (across mapped children)
-- reduce_least_1 runs; reduce_least_2 is TriggerFailed; reduce_most_0 (at_most = 0: no failure
-- allowed) is TriggerFailed; each (at_least = 1) maps over mixed and runs only where its
-- upstream child failed: [TriggerFailed, Success, TriggerFailed, TriggerFailed]. The flow
-- Failed.
local items = dk.task("items", function() return { 1, 2, 3, 4 } end)
local mixed = dk.task("mixed", function(x)
  if x == 2 then error("mixed failed on 2") end
  return x
end)
local reduce_least_1 = dk.task("reduce_least_1",
  { trigger = dk.triggers.some_failed { at_least = 1 } },
  function() return "ran" end)
local reduce_least_2 = dk.task("reduce_least_2",
  { trigger = dk.triggers.some_failed { at_least = 2 } },
  function() return "ran" end)
local reduce_most_0 = dk.task("reduce_most_0",
  { trigger = dk.triggers.some_failed { at_most = 0 } },
  function() return "ran" end)
local each = dk.task("each", { trigger = dk.triggers.some_failed { at_least = 1 } },
  function(x) return "ran" end)

return Flow("trigger_some_failed_mapped", function()
  local xs = items()
  local mixed_map = mixed:map(xs)
  reduce_least_1():set_upstream(mixed_map)
  reduce_least_2():set_upstream(mixed_map)
  reduce_most_0():set_upstream(mixed_map)
  each:map(mixed_map)
end)
