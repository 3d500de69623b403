-- Prefect 1: tests/core/test_task_map.py::test_map_tracks_non_mapped_upstream_tasks
-- Every div_each child fails, but register's children also depend (unmapped, no data) on
-- div_one, which succeeded: all_failed fails for every child, TriggerFailed x 3; flow Failed.
local zeros = dk.task("zeros", function() return { 0, 0, 0 } end)
local function div_fn(x)
  if x == 0 then error("division by zero") end
  return 1 / x
end
local div_each = dk.task("div_each", div_fn)
local div_one = dk.task("div_one", div_fn)
local register = dk.task("register", { trigger = dk.triggers.all_failed },
  function(x) return true end)

return Flow("map_unmapped_upstream_trigger", function()
  local registered = register:map(div_each:map(zeros()))
  registered:set_upstream(div_one(1))
end)
