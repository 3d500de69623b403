-- Prefect 1: tests/test_triggers.py::test_some_failed_with_one_arg and
-- test_some_failed_with_no_args
-- Upstreams: one success, two failures. at_least = 2 runs; at_least = 3 and at_most = 1 are
-- TriggerFailed; no bounds runs. The flow Failed.
local ok_a = dk.task("ok_a", function() return 1 end)
local bad_a = dk.task("bad_a", function() error("bad_a failed") end)
local bad_b = dk.task("bad_b", function() error("bad_b failed") end)
local least_2 = dk.task("least_2", { trigger = dk.triggers.some_failed { at_least = 2 } },
  function() return "ran" end)
local least_3 = dk.task("least_3", { trigger = dk.triggers.some_failed { at_least = 3 } },
  function() return "ran" end)
local most_1 = dk.task("most_1", { trigger = dk.triggers.some_failed { at_most = 1 } },
  function() return "ran" end)
local no_bounds = dk.task("no_bounds", { trigger = dk.triggers.some_failed() },
  function() return "ran" end)

return Flow("trigger_some_failed", function()
  least_2():set_upstream(ok_a):set_upstream(bad_a):set_upstream(bad_b)
  least_3():set_upstream(ok_a):set_upstream(bad_a):set_upstream(bad_b)
  most_1():set_upstream(ok_a):set_upstream(bad_a):set_upstream(bad_b)
  no_bounds():set_upstream(ok_a):set_upstream(bad_a):set_upstream(bad_b)
end)
