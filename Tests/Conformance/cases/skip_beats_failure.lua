-- Prefect 1: tests/engine/test_task_runner.py::TestCheckUpstreamSkipped::test_raises_with_skipped
-- (with a failed upstream too) both follows a skipped and a failed task: the skip check comes
-- before the trigger, so both is Skipped, not TriggerFailed; the only terminal task is
-- Skipped, so the flow succeeds although failer failed.
local skipper = dk.task("skipper", function() dk.skip("nothing to do") end)
local failer = dk.task("failer", function() error("broken") end)
local both = dk.task("both", function(a, b) return "ran" end)

return Flow("skip_beats_failure", function()
  both(skipper(), failer())
end)
