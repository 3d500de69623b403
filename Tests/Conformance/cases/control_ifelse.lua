-- ifelse runs one branch, the other skips; merge returns the branch's result.
-- Variants:
-- - false: the condition false runs the false branch, from Prefect 1's
--   tests/tasks/test_control_flow.py::test_merge_diamond_flow_with_results (CONDITION=False), the
--   condition coming from a task.
-- - none_result: the condition true runs the true branch, which returns nil: merge tells it from
--   a branch that did not run, its result is nil. From
--   test_merge_can_distinguish_between_a_none_result_and_an_unrun_task (CONDITION=True).
local condition = task("condition", function(value) return value end)
local true_branch = task("true_branch", function(result) return result end)
local false_branch = task("false_branch", function() return 0 end)

return Flow("control-ifelse", function()
  local t, f = true_branch(Parameter("true_result")), false_branch()
  dk.ifelse(condition(Parameter("condition_value")), t, f)
  dk.merge(t, f)
end)
