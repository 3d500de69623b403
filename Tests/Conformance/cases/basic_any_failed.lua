-- Prefect 1: tests/test_triggers.py, test_any_failed_with_some_failed_and_1_success and
-- test_any_failed_with_all_success (in a flow: the trigger's TriggerFailed fails the flow).
local good = task("good", function() return 1 end)
local bad = task("bad", function() error("bad") end)
local good_too = task("good_too", function() return 2 end)
local on_some_failure = task("on_some_failure", { trigger = dk.triggers.any_failed },
  function(a, b) return "handled" end)
local on_no_failure = task("on_no_failure", { trigger = dk.triggers.any_failed },
  function(a, b) return "never" end)

return Flow("basic_any_failed", function()
  local g = good()
  on_some_failure(g, bad())
  on_no_failure(g, good_too())
end)
