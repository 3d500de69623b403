-- Prefect 1, every child failing: tests/engine/test_flow_runner.py::TestMapping::
-- test_terminal_mapped_states_are_used_for_flow_state
-- The flow's only task is mapped and all three children fail: the parent is Mapped, but its
-- children are what the flow's state counts: Failed, exit 1.
local always_fails = dk.task("always_fails", function(x) dk.fail("no good: " .. x) end)

return Flow("map_all_children_fail", function()
  always_fails:map { 1, 2, 3 }
end)
