-- Prefect 1: tests/test_triggers.py::test_any_successful_with_some_failed_and_1_success (across
-- mapped children)
-- reduce_runs follows mixed (two of three children succeeded) and runs; reduce_fails follows
-- all_bad: TriggerFailed; each maps over mixed: [Success, TriggerFailed, Success]. The flow
-- Failed.
local items = dk.task("items", function() return { 1, 2, 3 } end)
local mixed = dk.task("mixed", function(x)
  if x == 2 then error("mixed failed on 2") end
  return x
end)
local all_bad = dk.task("all_bad", function(x) error("all_bad failed on " .. x) end)
local reduce_runs = dk.task("reduce_runs", { trigger = dk.triggers.any_successful },
  function() return "ran" end)
local reduce_fails = dk.task("reduce_fails", { trigger = dk.triggers.any_successful },
  function() return "ran" end)
local each = dk.task("each", { trigger = dk.triggers.any_successful }, function(x) return "ran" end)

return Flow("trigger_any_successful_mapped", function()
  local xs = items()
  local mixed_map = mixed:map(xs)
  local all_bad_map = all_bad:map(xs)
  reduce_runs():set_upstream(mixed_map)
  reduce_fails():set_upstream(all_bad_map)
  each:map(mixed_map)
end)
