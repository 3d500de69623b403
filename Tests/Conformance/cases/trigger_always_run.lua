-- Prefect 1: tests/test_triggers.py::test_always_run_with_all_failed (always_run is all_finished)
-- after_failure runs after bad_a; reduce_runs after mixed (one failed child); each maps over
-- mixed and all three children run. The flow succeeds.
local items = dk.task("items", function() return { 1, 2, 3 } end)
local bad_a = dk.task("bad_a", function() error("bad_a failed") end)
local mixed = dk.task("mixed", function(x)
  if x == 2 then error("mixed failed on 2") end
  return x
end)
local after_failure = dk.task("after_failure", { trigger = dk.triggers.always_run },
  function() return "ran" end)
local reduce_runs = dk.task("reduce_runs", { trigger = dk.triggers.always_run },
  function() return "ran" end)
local each = dk.task("each", { trigger = dk.triggers.always_run }, function(x) return "ran" end)

return Flow("trigger_always_run", function()
  local xs = items()
  local mixed_map = mixed:map(xs)
  after_failure():set_upstream(bad_a)
  reduce_runs():set_upstream(mixed_map)
  each:map(mixed_map)
end)
