-- Flattening lists that are all empty maps over nothing: a Mapped task with no children.
-- From Prefect 1's tests/core/test_task_map.py::TestFlatMap and the empty-map tests.
local nested = task("nested", function() return { {}, {} } end)
local inc = task("inc", function(x) return x + 1 end)
local count = task("count", function(xs) return #xs end)

return Flow("flatten-empty", function()
  count(inc:map(dk.flatten(nested())))
end)
