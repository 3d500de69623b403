-- Prefect 1: tests/core/test_task_map.py::test_map_tracks_non_mapped_upstream_tasks (all_failed
-- across mapped children)
-- reduce_runs follows all_bad (every child failed) and runs; reduce_fails follows mixed and is
-- TriggerFailed; each maps over mixed: [TriggerFailed, Success, TriggerFailed]. The flow
-- Failed.
local items = dk.task("items", function() return { 1, 2, 3 } end)
local mixed = dk.task("mixed", function(x)
  if x == 2 then error("mixed failed on 2") end
  return x
end)
local all_bad = dk.task("all_bad", function(x) error("all_bad failed on " .. x) end)
local reduce_runs = dk.task("reduce_runs", { trigger = dk.triggers.all_failed },
  function() return "ran" end)
local reduce_fails = dk.task("reduce_fails", { trigger = dk.triggers.all_failed },
  function() return "ran" end)
local each = dk.task("each", { trigger = dk.triggers.all_failed }, function(x) return "ran" end)

return Flow("trigger_all_failed_mapped", function()
  local xs = items()
  local mixed_map = mixed:map(xs)
  local all_bad_map = all_bad:map(xs)
  reduce_runs():set_upstream(all_bad_map)
  reduce_fails():set_upstream(mixed_map)
  each:map(mixed_map)
end)
