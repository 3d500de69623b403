-- Prefect 1: tests/core/test_task_map.py::test_map_handles_upstream_empty (as the reference task)
-- add maps over [] and has no children; it is the reference task, so no reference state
-- failed and the flow succeeds, though failer (terminal, not a reference) failed.
local make_list = dk.task("make_list", function() return {} end)
local add = dk.task("add", function(x) return x + 1 end)
local failer = dk.task("failer", function() error("broken") end)

return Flow("ref_mapped_empty", function(flow)
  local mapped = add:map(make_list())
  failer()
  flow:set_reference_tasks { mapped }
end)
