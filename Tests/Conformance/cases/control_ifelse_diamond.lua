-- ifelse picks one of two chains of three tasks; the other chain skips; merge joins them.
-- From Prefect 1's tests/tasks/test_control_flow.py::test_merging_diamond_flow (CONDITION=True), the
-- condition coming from a task instead of the context.
local condition = task("condition", function() return true end)

local function branch(prefix, base)
  local steps = {}
  for i = 0, 2 do
    steps[i + 1] = task(prefix .. i, function() return base + i end)()
    if i > 0 then steps[i + 1]:set_upstream(steps[i]) end
  end
  return steps
end

return Flow("control-ifelse-diamond", function()
  local true_branch = branch("true_branch_", 0)
  local false_branch = branch("false_branch_", 10)
  dk.ifelse(condition(), true_branch[1], false_branch[1])
  dk.merge(true_branch[3], false_branch[3])
end)
