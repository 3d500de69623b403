-- Prefect 1: tests/engine/test_task_runner.py::
-- test_task_runner_converts_pause_signal_to_paused_state_for_manual_only_triggers (in a flow)
-- manual's trigger is manual_only: Prefect pauses it (Paused) and after_manual never starts
-- (Pending). Prefect's FlowRunner leaves the flow Running; dkrun ends it Paused (DIFFERS).
local ok_a = dk.task("ok_a", function() return 1 end)
local manual = dk.task("manual", { trigger = dk.triggers.manual_only },
  function(x) return x + 1 end)
local after_manual = dk.task("after_manual", function(x) return x end)

return Flow("trigger_manual_only", function()
  after_manual(manual(ok_a()))
end)
