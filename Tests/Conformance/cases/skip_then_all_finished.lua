-- Prefect 1: tests/engine/test_task_runner.py::TestCheckUpstreamSkipped::test_raises_with_skipped
-- and TestCheckTaskTrigger::test_all_finished_pass, in the order TaskRunner.run asks them
-- The skip check comes before the trigger: finished_default (all_finished) is Skipped;
-- finished_no_skip (all_finished, skip_on_upstream_skip = false) runs. The flow succeeds.
local skipper = dk.task("skipper", function() dk.skip("nothing to do") end)
local finished_default = dk.task("finished_default", { trigger = dk.triggers.all_finished },
  function(x) return "ran" end)
local finished_no_skip = dk.task("finished_no_skip",
  { trigger = dk.triggers.all_finished, skip_on_upstream_skip = false },
  function(x) return "ran" end)

return Flow("skip_then_all_finished", function()
  local s = skipper()
  finished_default(s)
  finished_no_skip(s)
end)
