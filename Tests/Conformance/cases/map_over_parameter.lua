-- Prefect 1: tests/core/test_task_map.py::test_map_over_parameters
-- Mapping over a required parameter given at run time: [1, 2, 3] -> [2, 3, 4].
local add = dk.task("add", function(x, y) return x + (y or 1) end)

return Flow("map_over_parameter", function()
  add:map(dk.Parameter("list"))
end)
