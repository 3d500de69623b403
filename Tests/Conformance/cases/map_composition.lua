-- Prefect 1: tests/core/test_task_map.py::test_map_composition
-- Map over map, two levels: children are paired by index, [2, 3, 4] then [3, 4, 5].
local list_task = dk.task("list_task", function() return { 1, 2, 3 } end)
local add_a = dk.task("add_a", function(x) return x + 1 end)
local add_b = dk.task("add_b", function(x) return x + 1 end)

return Flow("map_composition", function()
  add_b:map(add_a:map(list_task()))
end)
