-- Prefect 1: tests/test_triggers.py::test_all_finished_with_all_failed and
-- test_all_finished_with_mixed_states
-- all_finished runs after any finished upstreams: after_mixed (one failed) and after_failures
-- (both failed) both run; the terminal tasks succeed, so the flow does.
local ok_a = dk.task("ok_a", function() return 1 end)
local bad_a = dk.task("bad_a", function() error("bad_a failed") end)
local bad_b = dk.task("bad_b", function() error("bad_b failed") end)
local after_mixed = dk.task("after_mixed", { trigger = dk.triggers.all_finished },
  function() return "ran" end)
local after_failures = dk.task("after_failures", { trigger = dk.triggers.all_finished },
  function() return "ran" end)

return Flow("trigger_all_finished", function()
  after_mixed():set_upstream(ok_a):set_upstream(bad_a)
  after_failures():set_upstream(bad_a):set_upstream(bad_b)
end)
