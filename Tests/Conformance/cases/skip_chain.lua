-- Prefect 1: tests/engine/test_task_runner.py::
-- test_task_that_has_upstream_skip_gets_skipped_with_informative_message (over a chain)
-- skipper skips; step_1, step_2 and step_3 are Skipped one after the other; sibling, on
-- another branch from start, runs (11). The flow succeeds.
local start = dk.task("start", function() return 1 end)
local skipper = dk.task("skipper", function(x) dk.skip("stop here") end)
local step_1 = dk.task("step_1", function(x) return x + 1 end)
local step_2 = dk.task("step_2", function(x) return x + 1 end)
local step_3 = dk.task("step_3", function(x) return x + 1 end)
local sibling = dk.task("sibling", function(x) return x + 10 end)

return Flow("skip_chain", function()
  local s = start()
  step_3(step_2(step_1(skipper(s))))
  sibling(s)
end)
