-- Prefect 1: tests/engine/test_flow_runner.py::TestMapping::
-- test_terminal_mapped_states_are_used_for_flow_state
-- Child 0 succeeds (-1), child 1 divides by zero: the flow is Failed.
local return_task = dk.task("return_task", function(x)
  if x == 1 then error("division by zero") end
  return 1 / (x - 1)
end)

return Flow("map_terminal_child_fails", function()
  return_task:map { 0, 1 }
end)
