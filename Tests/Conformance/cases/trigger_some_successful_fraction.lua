-- Prefect 1: tests/test_triggers.py::test_some_successful_does_the_math
-- Upstreams: three successes, one failure. at_least = 0.5 (2) runs; at_least = 0.8 (3.2) is
-- TriggerFailed; at_most = 0.5 (2) is TriggerFailed; at_least = 0.7, at_most = 0.8 (2.8 to
-- 3.2) runs. The flow Failed.
local ok_a = dk.task("ok_a", function() return 1 end)
local ok_b = dk.task("ok_b", function() return 2 end)
local ok_c = dk.task("ok_c", function() return 3 end)
local bad_a = dk.task("bad_a", function() error("bad_a failed") end)
local least_half = dk.task("least_half",
  { trigger = dk.triggers.some_successful { at_least = 0.5 } },
  function() return "ran" end)
local least_0_8 = dk.task("least_0_8", { trigger = dk.triggers.some_successful { at_least = 0.8 } },
  function() return "ran" end)
local most_half = dk.task("most_half", { trigger = dk.triggers.some_successful { at_most = 0.5 } },
  function() return "ran" end)
local between = dk.task("between",
  { trigger = dk.triggers.some_successful { at_least = 0.7, at_most = 0.8 } },
  function() return "ran" end)

return Flow("trigger_some_successful_fraction", function()
  least_half():set_upstream(ok_a):set_upstream(ok_b):set_upstream(ok_c):set_upstream(bad_a)
  least_0_8():set_upstream(ok_a):set_upstream(ok_b):set_upstream(ok_c):set_upstream(bad_a)
  most_half():set_upstream(ok_a):set_upstream(ok_b):set_upstream(ok_c):set_upstream(bad_a)
  between():set_upstream(ok_a):set_upstream(ok_b):set_upstream(ok_c):set_upstream(bad_a)
end)
