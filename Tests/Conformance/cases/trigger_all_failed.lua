-- Prefect 1: tests/test_triggers.py::test_all_failed_with_all_failed,
-- test_all_failed_with_some_success and test_all_failed_with_some_skips
-- runs follows two failed tasks and runs; trigger_fails follows a success and a failure and is
-- TriggerFailed; with_skip (skip_on_upstream_skip = false) follows a failure and a skip, which
-- counts as a success: TriggerFailed. The flow Failed.
local ok_a = dk.task("ok_a", function() return 1 end)
local bad_a = dk.task("bad_a", function() error("bad_a failed") end)
local bad_b = dk.task("bad_b", function() error("bad_b failed") end)
local skip_a = dk.task("skip_a", function() dk.skip("skip_a skipped") end)
local runs = dk.task("runs", { trigger = dk.triggers.all_failed }, function() return "ran" end)
local trigger_fails = dk.task("trigger_fails", { trigger = dk.triggers.all_failed },
  function() return "ran" end)
local with_skip = dk.task("with_skip",
  { trigger = dk.triggers.all_failed, skip_on_upstream_skip = false },
  function() return "ran" end)

return Flow("trigger_all_failed", function()
  runs():set_upstream(bad_a):set_upstream(bad_b)
  trigger_fails():set_upstream(ok_a):set_upstream(bad_a)
  with_skip():set_upstream(bad_a):set_upstream(skip_a)
end)
