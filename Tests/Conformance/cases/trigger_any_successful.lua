-- Prefect 1: tests/test_triggers.py::test_any_successful_with_some_failed_and_1_success,
-- test_any_successful_with_some_failed_and_1_skip and test_any_successful_with_all_failed
-- runs follows a success and a failure and runs; with_skip (skip_on_upstream_skip = false)
-- follows a skip and a failure and runs (a skip is a success); trigger_fails follows two
-- failures: TriggerFailed. The flow Failed.
local ok_a = dk.task("ok_a", function() return 1 end)
local bad_a = dk.task("bad_a", function() error("bad_a failed") end)
local bad_b = dk.task("bad_b", function() error("bad_b failed") end)
local skip_a = dk.task("skip_a", function() dk.skip("skip_a skipped") end)
local runs = dk.task("runs", { trigger = dk.triggers.any_successful }, function() return "ran" end)
local with_skip = dk.task("with_skip",
  { trigger = dk.triggers.any_successful, skip_on_upstream_skip = false },
  function() return "ran" end)
local trigger_fails = dk.task("trigger_fails", { trigger = dk.triggers.any_successful },
  function() return "ran" end)

return Flow("trigger_any_successful", function()
  runs():set_upstream(ok_a):set_upstream(bad_a)
  with_skip():set_upstream(skip_a):set_upstream(bad_a)
  trigger_fails():set_upstream(bad_a):set_upstream(bad_b)
end)
