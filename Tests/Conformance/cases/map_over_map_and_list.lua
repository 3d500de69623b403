-- Prefect 1: tests/core/test_task_map.py::test_map_over_map_and_unmapped
-- add_two maps over a plain list and over a mapped task's children at once: [3, 5, 7].
local numbers = dk.task("numbers", function() return { 1, 2, 3 } end)
local add = dk.task("add", function(x) return x + 1 end)
local add_two = dk.task("add_two", function(x, y) return x + y end)

return Flow("map_over_map_and_list", function()
  local n = numbers()
  add_two:map { x = n, y = add:map(n) }
end)
