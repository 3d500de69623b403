-- Prefect 1: tests/core/test_task_map.py::test_task_map_downstreams_handle_single_failures
-- div's middle child fails: the reduce append_four is TriggerFailed, div_again's middle child
-- is TriggerFailed and its others run ([1, 3]); the flow Failed.
local ll = dk.task("ll", function() return { 1, 0, 3 } end)
local function inverse(x)
  if x == 0 then error("division by zero") end
  return 1 / x
end
local div = dk.task("div", inverse)
local div_again = dk.task("div_again", inverse)
local append_four = dk.task("append_four", function(l)
  local out = { table.unpack(l) }
  out[#out + 1] = 4
  return out
end)

return Flow("map_downstream_single_failure", function()
  local dived = div:map(ll())
  append_four(dived)
  div_again:map(dived)
end)
