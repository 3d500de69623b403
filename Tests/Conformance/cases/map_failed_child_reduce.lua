-- Prefect 1: tests/core/test_task_map.py::test_reduce_task_honors_trigger_across_all_mapped_states
-- div's first child fails (1 / 0 is an error here too); take_sum reduces over all the
-- children, so its all_successful trigger fails: TriggerFailed, and the flow Failed.
local ll = dk.task("ll", function() return { 0, 1 } end)
local div = dk.task("div", function(x)
  if x == 0 then error("division by zero") end
  return 1 / x
end)
local take_sum = dk.task("take_sum", function(xs)
  local s = 0
  for _, x in ipairs(xs) do s = s + x end
  return s
end)

return Flow("map_failed_child_reduce", function()
  take_sum(div:map(ll()))
end)
