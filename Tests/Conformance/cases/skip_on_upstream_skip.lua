-- Prefect 1: tests/engine/test_task_runner.py::
-- test_task_that_has_upstream_skip_gets_skipped_with_informative_message
-- skipper skips itself; after_skip (skip_on_upstream_skip defaults to true) is Skipped without
-- running. Skipped counts as success: the flow succeeds.
local skipper = dk.task("skipper", function() dk.skip("nothing to do") end)
local after_skip = dk.task("after_skip", function(x) return "ran" end)

return Flow("skip_on_upstream_skip", function()
  after_skip(skipper())
end)
