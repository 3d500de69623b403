-- When several merged branches have results, merge returns the first one's.
-- From Prefect 1's tests/tasks/test_control_flow.py::test_merge_order.
local x = task("x", function() return "x" end)
local y = task("y", function() return "y" end)

return Flow("control-merge-order", function()
  dk.merge(x(), y())
end)
