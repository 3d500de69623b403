-- Prefect 1:
-- tests/core/test_task_map.py::test_task_map_can_be_passed_to_upstream_with_and_without_map
-- add's result goes whole to append_four ([2, 3, 4, 4]) and child by child to add_again
-- ([3, 4, 5]).
local ll = dk.task("ll", function() return { 1, 2, 3 } end)
local add = dk.task("add", function(x) return x + 1 end)
local add_again = dk.task("add_again", function(x) return x + 1 end)
local append_four = dk.task("append_four", function(l)
  local out = { table.unpack(l) }
  out[#out + 1] = 4
  return out
end)

return Flow("map_reduce_and_map", function()
  local added = add:map(ll())
  append_four(added)
  add_again:map(added)
end)
