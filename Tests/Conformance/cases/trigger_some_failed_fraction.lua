-- Prefect 1: tests/test_triggers.py::test_some_failed_does_the_math
-- Upstreams: two successes, two failures. at_least = 0.5 (2) runs; at_most = 0.25 (1) is
-- TriggerFailed; at_least = 0.1, at_most = 0.6 runs; at_least = 0.6 (2.4) is TriggerFailed.
-- The flow Failed.
local ok_a = dk.task("ok_a", function() return 1 end)
local ok_b = dk.task("ok_b", function() return 2 end)
local bad_a = dk.task("bad_a", function() error("bad_a failed") end)
local bad_b = dk.task("bad_b", function() error("bad_b failed") end)
local least_half = dk.task("least_half", { trigger = dk.triggers.some_failed { at_least = 0.5 } },
  function() return "ran" end)
local most_quarter = dk.task("most_quarter",
  { trigger = dk.triggers.some_failed { at_most = 0.25 } },
  function() return "ran" end)
local between = dk.task("between",
  { trigger = dk.triggers.some_failed { at_least = 0.1, at_most = 0.6 } },
  function() return "ran" end)
local least_0_6 = dk.task("least_0_6", { trigger = dk.triggers.some_failed { at_least = 0.6 } },
  function() return "ran" end)

return Flow("trigger_some_failed_fraction", function()
  least_half():set_upstream(ok_a):set_upstream(ok_b):set_upstream(bad_a):set_upstream(bad_b)
  most_quarter():set_upstream(ok_a):set_upstream(ok_b):set_upstream(bad_a):set_upstream(bad_b)
  between():set_upstream(ok_a):set_upstream(ok_b):set_upstream(bad_a):set_upstream(bad_b)
  least_0_6():set_upstream(ok_a):set_upstream(ok_b):set_upstream(bad_a):set_upstream(bad_b)
end)
