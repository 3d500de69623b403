-- Merge skips over a skipped first branch and returns the next branch's result.
-- From Prefect 1's tests/tasks/test_control_flow.py::test_merge_imperative_flow (cond true: the
-- false case is skipped) with the skipped branch listed first.
local function identity(x) return x end
local function inc(x) return x + 1 end

return Flow("control-merge-first-skipped", function()
  local cond = task("cond", identity)(true)
  local a, b
  dk.case(cond, true, function() a = task("a", inc)(1) end)
  dk.case(cond, false, function() b = task("b", inc)(2) end)
  dk.merge(b, a)
end)
