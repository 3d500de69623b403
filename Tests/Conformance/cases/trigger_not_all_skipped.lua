-- Prefect 1: tests/test_triggers.py::test_not_all_skipped_with_all_success_or_skipped,
-- test_not_all_skipped_with_all_skipped and test_not_all_skipped_with_some_failed
-- With skip_on_upstream_skip = false: runs (a success and a skip) runs; all_skipped (two
-- skips) is Skipped by the trigger; trigger_fails (a success and a failure) is TriggerFailed.
-- skipped_first keeps the default skip_on_upstream_skip, which skips it before its trigger is
-- asked. The flow Failed.
local ok_a = dk.task("ok_a", function() return 1 end)
local bad_a = dk.task("bad_a", function() error("bad_a failed") end)
local skip_a = dk.task("skip_a", function() dk.skip("skip_a skipped") end)
local skip_b = dk.task("skip_b", function() dk.skip("skip_b skipped") end)
local runs = dk.task("runs",
  { trigger = dk.triggers.not_all_skipped, skip_on_upstream_skip = false },
  function() return "ran" end)
local all_skipped = dk.task("all_skipped",
  { trigger = dk.triggers.not_all_skipped, skip_on_upstream_skip = false },
  function() return "ran" end)
local trigger_fails = dk.task("trigger_fails",
  { trigger = dk.triggers.not_all_skipped, skip_on_upstream_skip = false },
  function() return "ran" end)
local skipped_first = dk.task("skipped_first", { trigger = dk.triggers.not_all_skipped },
  function() return "ran" end)

return Flow("trigger_not_all_skipped", function()
  runs():set_upstream(ok_a):set_upstream(skip_a)
  all_skipped():set_upstream(skip_a):set_upstream(skip_b)
  trigger_fails():set_upstream(ok_a):set_upstream(bad_a)
  skipped_first():set_upstream(ok_a):set_upstream(skip_a)
end)
