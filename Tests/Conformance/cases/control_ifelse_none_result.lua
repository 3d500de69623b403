-- Merge tells a branch that returned nil from one that did not run: its result is nil.
-- From Prefect 1's tests/tasks/test_control_flow.py::
-- test_merge_can_distinguish_between_a_none_result_and_an_unrun_task (CONDITION=True).
local condition = task("condition", function() return true end)
local true_branch = task("true_branch", function() return nil end)
local false_branch = task("false_branch", function() return 0 end)

return Flow("control-ifelse-none-result", function()
  local t, f = true_branch(), false_branch()
  dk.ifelse(condition(), t, f)
  dk.merge(t, f)
end)
