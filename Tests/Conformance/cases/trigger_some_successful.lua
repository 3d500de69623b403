-- Prefect 1: tests/test_triggers.py::test_some_successful_with_one_arg and
-- test_some_successful_with_no_args
-- Upstreams: two successes, one failure. at_least = 2 runs; at_least = 3 and at_most = 1 are
-- TriggerFailed; at_least = 1, at_most = 2 runs; no bounds runs. The flow Failed.
local ok_a = dk.task("ok_a", function() return 1 end)
local ok_b = dk.task("ok_b", function() return 2 end)
local bad_a = dk.task("bad_a", function() error("bad_a failed") end)
local least_2 = dk.task("least_2", { trigger = dk.triggers.some_successful { at_least = 2 } },
  function() return "ran" end)
local least_3 = dk.task("least_3", { trigger = dk.triggers.some_successful { at_least = 3 } },
  function() return "ran" end)
local most_1 = dk.task("most_1", { trigger = dk.triggers.some_successful { at_most = 1 } },
  function() return "ran" end)
local between_1_2 = dk.task("between_1_2",
  { trigger = dk.triggers.some_successful { at_least = 1, at_most = 2 } },
  function() return "ran" end)
local no_bounds = dk.task("no_bounds", { trigger = dk.triggers.some_successful() },
  function() return "ran" end)

return Flow("trigger_some_successful", function()
  least_2():set_upstream(ok_a):set_upstream(ok_b):set_upstream(bad_a)
  least_3():set_upstream(ok_a):set_upstream(ok_b):set_upstream(bad_a)
  most_1():set_upstream(ok_a):set_upstream(ok_b):set_upstream(bad_a)
  between_1_2():set_upstream(ok_a):set_upstream(ok_b):set_upstream(bad_a)
  no_bounds():set_upstream(ok_a):set_upstream(ok_b):set_upstream(bad_a)
end)
