-- Prefect 1: tests/core/test_task_map.py::test_mapping_over_constants
-- Mapping over a constant list: four children, the parent's result is their results.
local add_one = dk.task("add_one", function(x) return x + 1 end)

return Flow("map_constant_list", function()
  add_one:map { x = { 1, 2, 3, 4 } }
end)
