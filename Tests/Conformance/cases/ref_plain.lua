-- Prefect 1: tests/engine/test_flow_runner.py::test_flow_run_state_determined_by_reference_tasks
-- The terminal task success_task (all_finished) succeeds, but the reference task is
-- error_task, which failed: the flow Failed.
local error_task = dk.task("error_task", function() error("custom-error-message") end)
local success_task = dk.task("success_task", { trigger = dk.triggers.all_finished },
  function() return 1 end)

return Flow("ref_plain", function(flow)
  success_task():set_upstream(error_task)
  flow:set_reference_tasks { error_task }
end)
