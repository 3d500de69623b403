-- Prefect 1: tests/core/test_task_map.py::test_unmapped_on_mapped and
-- test_task_map_with_all_inputs_unmapped
-- A map with no mapped argument is one run on the whole values: double gets [2, 3, 4] and
-- returns [2, 3, 4, 2, 3, 4]; add joins two lists, [0, 2, 1, 7]. Both end Success.
local function concat(a, b)
  local out = { table.unpack(a) }
  for _, v in ipairs(b) do out[#out + 1] = v end
  return out
end
local add_one = dk.task("add_one", function(x) return x + 1 end)
local double = dk.task("double", function(x) return concat(x, x) end)
local add = dk.task("add", function(x, y) return concat(x, y) end)

return Flow("map_all_unmapped", function()
  double:map(dk.unmapped(add_one:map { 1, 2, 3 }))
  add:map(dk.unmapped { 0, 2 }, dk.unmapped { 1, 7 })
end)
