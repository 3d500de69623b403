-- Prefect 1: tests/test_triggers.py::test_any_failed_with_some_failed_and_1_success and
-- test_any_failed_with_all_success
-- runs follows a success and a failure and runs; trigger_fails follows two successes:
-- TriggerFailed. The flow Failed.
local ok_a = dk.task("ok_a", function() return 1 end)
local ok_b = dk.task("ok_b", function() return 2 end)
local bad_a = dk.task("bad_a", function() error("bad_a failed") end)
local runs = dk.task("runs", { trigger = dk.triggers.any_failed }, function() return "ran" end)
local trigger_fails = dk.task("trigger_fails", { trigger = dk.triggers.any_failed },
  function() return "ran" end)

return Flow("trigger_any_failed", function()
  runs():set_upstream(ok_a):set_upstream(bad_a)
  trigger_fails():set_upstream(ok_a):set_upstream(ok_b)
end)
