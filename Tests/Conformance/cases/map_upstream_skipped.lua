-- Prefect 1: tests/core/test_task_map.py::test_upstream_skip_signals_are_handled_properly
-- The list to map over was never made (its task skipped): the mapped task is Skipped (no
-- children), and so is the task after it; the flow succeeds.
local skip_task = dk.task("skip_task", function() dk.skip("Not going to run.") end)
local add = dk.task("add", function(x) return x + 1 end)
local after = dk.task("after", function(xs) return xs end)

return Flow("map_upstream_skipped", function()
  after(add:map(skip_task()))
end)
