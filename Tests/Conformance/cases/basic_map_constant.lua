-- Prefect 1: tests/core/test_task_map.py, test_mapping_over_constants (with a reduce).
local square = task("square", function(x) return x * x end)
local total = task("total", function(xs)
  local sum = 0
  for _, x in ipairs(xs) do sum = sum + x end
  return sum
end)

return Flow("basic_map_constant", function()
  total(square:map({ 1, 2, 3, 4 }))
end)
