-- A looping task (20 iterations) passes its final result downstream.
-- From Prefect 1's tests/engine/test_flow_runner.py::test_looping_works_in_a_flow.
local looper = task("looper", function(x)
  if (dk.context.loop_count or 1) < 20 then dk.loop((dk.context.loop_result or 0) + x) end
  return dk.context.loop_result + x
end)
local downstream = task("downstream", function(total) return total * total end)

return Flow("looping", function()
  downstream(looper(10))
end)
