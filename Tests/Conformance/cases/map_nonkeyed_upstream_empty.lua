-- Prefect 1: tests/core/test_task_map.py::test_map_handles_non_keyed_upstream_empty and
-- test_map_can_handle_nonkeyed_upstreams
-- A map whose only mapped edge passes no data: one child per element of the upstream's
-- result, so [] gives a Mapped task with no children and a 3-list gives three 2s.
local make_empty = dk.task("make_empty", function() return {} end)
local make_three = dk.task("make_three", function() return { "a", "b", "c" } end)
local return_1 = dk.task("return_1", function() return 1 end)
local return_2 = dk.task("return_2", function() return 2 end)

return Flow("map_nonkeyed_upstream_empty", function()
  return_1:map():set_upstream(make_empty(), { mapped = true })
  return_2:map():set_upstream(make_three(), { mapped = true })
end)
