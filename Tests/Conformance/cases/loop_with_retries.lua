-- A looping task fails once on its second iteration and is retried; the loop resumes there.
-- From Prefect 1's tests/engine/test_flow_runner.py::test_looping_with_retries_works_in_a_flow.
-- dk.context.attempt is Prefect's task_run_count.
local looper = task("looper", { max_retries = 1, retry_delay = 0 }, function(x)
  if dk.context.loop_count == 2 and dk.context.attempt == 1 then error("err") end
  if (dk.context.loop_count or 1) < 20 then dk.loop((dk.context.loop_result or 0) + x) end
  return dk.context.loop_result + x
end)
local downstream = task("downstream", function(total) return total * total end)

return Flow("looping-with-retries", function()
  downstream(looper(10))
end)
