-- Prefect 1: tests/core/test_task_map.py::test_mapping_over_no_successful_upstreams
-- The list to map over failed: the mapped task ends Failed ("No upstream states can be mapped
-- over."), not TriggerFailed, and has no children; the flow Failed.
local div = dk.task("div", function(x)
  if x == 0 then error("division by zero") end
  return 1 / x
end)
local add = dk.task("add", function(x, y) return x + (y or 1) end)

return Flow("map_no_mappable_upstream", function()
  add:map { x = div(0) }
end)
