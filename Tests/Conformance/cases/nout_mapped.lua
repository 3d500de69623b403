-- A task with nout = 2 gives a list to map over and a factor passed unmapped to every child.
-- From Prefect 1's tests/core/test_task.py (nout) and tests/core/test_task_map.py (mapping over a
-- result handle with unmapped arguments).
local prepare = task("prepare", { nout = 2 }, function() return { 1, 2, 3 }, 10 end)
local scale = task("scale", function(x, factor) return x * factor end)

return Flow("nout-mapped", function()
  local values, factor = prepare()
  scale:map(values, dk.unmapped(factor))
end)
