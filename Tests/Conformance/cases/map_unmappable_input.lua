-- Prefect 1: tests/core/test_task_map.py::test_mapping_over_one_unmappable_input
-- x is the number 1, not a list: the mapped task ends Failed with no children; the flow Failed.
local add = dk.task("add", function(x, y) return x + y end)

return Flow("map_unmappable_input", function()
  add:map { x = 1, y = { 1 } }
end)
