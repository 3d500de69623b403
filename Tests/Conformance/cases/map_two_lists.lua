-- Prefect 1: tests/core/test_task_map.py::test_multiple_map_arguments
-- Two mapped arguments of equal length are zipped: [11, 22, 33].
local list_x = dk.task("list_x", function() return { 1, 2, 3 } end)
local list_y = dk.task("list_y", function() return { 10, 20, 30 } end)
local add = dk.task("add", function(x, y) return x + y end)

return Flow("map_two_lists", function()
  add:map { x = list_x(), y = list_y() }
end)
