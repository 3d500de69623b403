-- Prefect 1: tests/core/test_task_map.py::test_map_handles_upstream_empty (with a reduce added)
-- Mapping over []: the parent is Mapped with no children, so is a map over it, and a reduce
-- after it runs on an empty list.
local make_list = dk.task("make_list", function() return {} end)
local add_a = dk.task("add_a", function(x) return x + 1 end)
local add_b = dk.task("add_b", function(x) return x + 1 end)
local count = dk.task("count", function(xs) return #xs end)

return Flow("map_empty_list", function()
  local res = add_a:map(make_list())
  add_b:map(res)
  count(res)
end)
