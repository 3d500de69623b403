-- Prefect 1: tests/engine/test_task_runner.py::
-- test_mapped_tasks_parents_and_children_respond_to_individual_triggers (manual_only, in a flow)
-- The mapped parent does not ask its trigger: it is Mapped, and each of its two children is
-- Paused by manual_only. Prefect's FlowRunner leaves the flow Running; dkrun ends it Paused
-- (DIFFERS).
local items = dk.task("items", function() return { 1, 2 } end)
local manual_each = dk.task("manual_each", { trigger = dk.triggers.manual_only },
  function(x) return x end)

return Flow("trigger_manual_only_mapped", function()
  manual_each:map(items())
end)
