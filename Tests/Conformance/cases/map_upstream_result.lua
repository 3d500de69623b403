-- Prefect 1: tests/core/test_task_map.py::test_map_spawns_new_tasks
-- Mapping over an upstream task's result: three children [2, 3, 4].
local list_task = dk.task("list_task", function(start)
  start = start or 1
  return { start, start + 1, start + 2 }
end)
local add = dk.task("add", function(x, y) return x + (y or 1) end)

return Flow("map_upstream_result", function()
  add:map(list_task())
end)
