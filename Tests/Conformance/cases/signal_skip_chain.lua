-- SKIP propagates down a chain of tasks; the flow is Success (Skipped counts as success).
-- From Prefect 1's tests/engine/test_task_runner.py::TestCheckUpstreamSkipped::test_raises_with_skipped.
local first = task("first", function() dk.skip("nothing to do") end)
local second = task("second", function(x) return 2 end)
local third = task("third", function(x) return 3 end)
local independent = task("independent", function() return "independent" end)

return Flow("signal-skip-chain", function()
  third(second(first()))
  independent()
end)
