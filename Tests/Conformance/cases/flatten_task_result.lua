-- Mapping over dk.flatten(x) maps over the elements of a task's list of lists (an empty one too).
-- From Prefect 1's tests/core/test_task_map.py::TestFlatMap (test_flat_map... over a task returning
-- nested lists).
local nested = task("nested", function() return { { 1, 2 }, {}, { 3 } } end)
local inc = task("inc", function(x) return x + 1 end)
local collect = task("collect", function(xs) return xs end)

return Flow("flatten-task-result", function()
  collect(inc:map(dk.flatten(nested())))
end)
