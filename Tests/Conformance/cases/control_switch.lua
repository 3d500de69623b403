-- switch with three branches on a string condition.
-- From Prefect 1's tests/tasks/test_control_flow.py::test_switch[b] and [x] (variants b and x: the
-- condition's value).
local condition = task("condition", function(value) return value end)
local a_branch = task("a_branch", function() return "A" end)
local b_branch = task("b_branch", function() return "B" end)
local c_branch = task("c_branch", function() return "C" end)
local after_b = task("after_b", function(x) return x .. "!" end)

return Flow("control-switch", function()
  local b = b_branch()
  dk.switch(condition(Parameter("value")), { a = a_branch(), b = b, c = c_branch() })
  after_b(b)
end)
