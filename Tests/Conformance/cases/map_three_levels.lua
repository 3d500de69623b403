-- Prefect 1: tests/core/test_task_map.py::test_deep_map_composition (three levels, then a reduce)
-- Each level maps over the one before: [2,3,4] -> [4,6,8] -> [1,3,5], collected whole.
local numbers = dk.task("numbers", function() return { 1, 2, 3 } end)
local add_1 = dk.task("add_1", function(x) return x + 1 end)
local times_2 = dk.task("times_2", function(x) return x * 2 end)
local minus_3 = dk.task("minus_3", function(x) return x - 3 end)
local collect = dk.task("collect", function(xs) return xs end)

return Flow("map_three_levels", function()
  collect(minus_3:map(times_2:map(add_1:map(numbers()))))
end)
