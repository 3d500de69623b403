-- A task loops 3 times, each iteration adding one to the previous iteration's result.
-- From Prefect 1's tests/engine/test_task_runner.py::TestLooping::test_looping_accumulates.
local accumulate = task("accumulate", function()
  local current = dk.context.loop_result or 0
  if (dk.context.loop_count or 1) < 3 then dk.loop(current + 1) end
  return current + 1
end)

return Flow("loop-accumulate", function()
  accumulate()
end)
