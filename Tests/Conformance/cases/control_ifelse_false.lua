-- ifelse on a false condition runs the false branch; merge returns its result.
-- From Prefect 1's tests/tasks/test_control_flow.py::test_merge_diamond_flow_with_results
-- (CONDITION=False), the condition coming from a task.
local condition = task("condition", function() return false end)
local true_branch = task("true_branch", function() return 1 end)
local false_branch = task("false_branch", function() return 0 end)

return Flow("control-ifelse-false", function()
  local t, f = true_branch(), false_branch()
  dk.ifelse(condition(), t, f)
  dk.merge(t, f)
end)
