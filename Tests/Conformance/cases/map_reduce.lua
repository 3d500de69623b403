-- Prefect 1: tests/core/test_task_map.py::test_map_reduce
-- A reduce (a plain call) after map over map gets the whole list: 3 + 4 + 5 = 12.
local numbers = dk.task("numbers", function() return { 1, 2, 3 } end)
local add_a = dk.task("add_a", function(x) return x + 1 end)
local add_b = dk.task("add_b", function(x) return x + 1 end)
local reduce_sum = dk.task("reduce_sum", function(xs)
  local s = 0
  for _, x in ipairs(xs) do s = s + x end
  return s
end)

return Flow("map_reduce", function()
  reduce_sum(add_b:map(add_a:map(numbers())))
end)
