-- Prefect 1: tests/core/test_task_map.py::test_task_map_downstreams_handle_single_failures,
-- one stage deeper: first[2] fails, second[2] and third[2] are TriggerFailed, the others run,
-- and gather (all_finished) sees every child of third in order, -1 for the failed one.
local first = dk.task("first", function(x)
  if x == 2 then error("first fails at 2") end
  return x
end)
local second = dk.task("second", function(x) return x * 10 end)
local third = dk.task("third", function(x) return x + 1 end)
local gather = dk.task("gather", { trigger = dk.triggers.all_finished }, function(xs)
  local out = {}
  for i = 1, 4 do out[i] = xs[i] == nil and -1 or xs[i] end
  return out
end)

return Flow("map_pipeline_failed_child", function()
  gather(third:map(second:map(first:map({ 0, 1, 2, 3 }))))
end)
