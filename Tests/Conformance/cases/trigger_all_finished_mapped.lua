-- Prefect 1: tests/engine/test_task_runner.py::TestCheckUpstreamFinished::test_doesnt_raise_if_mapp
-- ed_upstream_complete (in a flow)
-- reduce_runs follows mixed and all_bad (failed children) and runs; each maps over all_bad and
-- every child runs. The terminal tasks succeed: the flow succeeds.
local items = dk.task("items", function() return { 1, 2, 3 } end)
local mixed = dk.task("mixed", function(x)
  if x == 2 then error("mixed failed on 2") end
  return x
end)
local all_bad = dk.task("all_bad", function(x) error("all_bad failed on " .. x) end)
local reduce_runs = dk.task("reduce_runs", { trigger = dk.triggers.all_finished },
  function() return "ran" end)
local each = dk.task("each", { trigger = dk.triggers.all_finished }, function(x) return "ran" end)

return Flow("trigger_all_finished_mapped", function()
  local xs = items()
  local mixed_map = mixed:map(xs)
  local all_bad_map = all_bad:map(xs)
  reduce_runs():set_upstream(mixed_map):set_upstream(all_bad_map)
  each:map(all_bad_map)
end)
