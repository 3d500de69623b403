-- Prefect 1: tests/core/test_task_map.py::test_map_can_handle_fixed_kwargs
-- An unmapped argument, a task's result and a constant, is passed whole to every child.
local list_task = dk.task("list_task", function() return { 1, 2, 3 } end)
local five = dk.task("five", function() return 5 end)
local add = dk.task("add", function(x, y) return x + y end)
local add_const = dk.task("add_const", function(x, y) return x + y end)

return Flow("map_unmapped_arg", function()
  local numbers = list_task()
  add:map(numbers, dk.unmapped(five()))
  add_const:map(numbers, dk.unmapped(5))
end)
