-- Prefect 1: tests/core/test_task_map.py::test_reduce_task_honors_trigger_across_all_mapped_states
-- (and the mapped child's own trigger)
-- reduce_runs follows all_ok (every child succeeded) and runs; reduce_fails follows mixed
-- (child 1 failed) and is TriggerFailed; each maps over mixed: [Success, TriggerFailed,
-- Success]. The flow Failed.
local items = dk.task("items", function() return { 1, 2, 3 } end)
local mixed = dk.task("mixed", function(x)
  if x == 2 then error("mixed failed on 2") end
  return x
end)
local all_ok = dk.task("all_ok", function(x)
  return x
end)
local reduce_runs = dk.task("reduce_runs", { trigger = dk.triggers.all_successful },
  function() return "ran" end)
local reduce_fails = dk.task("reduce_fails", { trigger = dk.triggers.all_successful },
  function() return "ran" end)
local each = dk.task("each", { trigger = dk.triggers.all_successful }, function(x) return "ran" end)

return Flow("trigger_all_successful_mapped", function()
  local xs = items()
  local mixed_map = mixed:map(xs)
  local all_ok_map = all_ok:map(xs)
  reduce_runs():set_upstream(all_ok_map)
  reduce_fails():set_upstream(mixed_map)
  each:map(mixed_map)
end)
