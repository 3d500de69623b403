-- Prefect 1: the example in the module docstring of prefect/triggers.py
-- task_a fails: task_b (all_successful) is TriggerFailed, task_c (all_failed) runs. task_c is
-- the reference task, so the flow succeeds although a terminal task failed.
local task_a = dk.task("task_a", function() error("Non-deterministic error has occured.") end)
local task_b = dk.task("task_b", { trigger = dk.triggers.all_successful },
  function() return "b" end)
local task_c = dk.task("task_c", { trigger = dk.triggers.all_failed }, function() return "c" end)

return Flow("ref_success_branch", function(flow)
  task_b():set_upstream(task_a)
  local fail = task_c():set_upstream(task_a)
  flow:set_reference_tasks { fail }
end)
