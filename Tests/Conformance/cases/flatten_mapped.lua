-- Mapping over dk.flatten of a mapped task maps over every element of every child's list.
-- From Prefect 1's tests/core/test_task_map.py::TestFlatMap (flat-mapping a mapped upstream:
-- ll.map(...) then inc.map(flatten(...))).
local numbers = task("numbers", function() return { 1, 2, 3 } end)
local make_range = task("make_range", function(n)
  local out = {}
  for i = 0, n - 1 do out[#out + 1] = i end
  return out
end)
local inc = task("inc", function(x) return x + 1 end)
local collect = task("collect", function(xs) return xs end)

return Flow("flatten-mapped", function()
  local ranges = make_range:map(numbers())
  collect(inc:map(dk.flatten(ranges)))
end)
