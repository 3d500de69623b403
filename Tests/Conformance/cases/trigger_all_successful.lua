-- Prefect 1: tests/test_triggers.py::test_all_successful_with_all_success and
-- test_all_successful_with_some_failed
-- runs has two successful upstreams and runs; trigger_fails has a failed one and ends
-- TriggerFailed, so the flow Failed.
local ok_a = dk.task("ok_a", function() return 1 end)
local ok_b = dk.task("ok_b", function() return 2 end)
local bad_a = dk.task("bad_a", function() error("bad_a failed") end)
local runs = dk.task("runs", { trigger = dk.triggers.all_successful }, function() return "ran" end)
local trigger_fails = dk.task("trigger_fails", { trigger = dk.triggers.all_successful },
  function() return "ran" end)

return Flow("trigger_all_successful", function()
  runs():set_upstream(ok_a):set_upstream(ok_b)
  trigger_fails():set_upstream(ok_a):set_upstream(bad_a)
end)
