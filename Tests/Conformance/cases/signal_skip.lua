-- A task raising SKIP ends Skipped; downstream tasks skip unless skip_on_upstream_skip = false.
-- From Prefect 1's tests/engine/test_task_runner.py::test_task_that_raises_skip_gets_skipped and
-- test_task_that_has_upstream_skip_gets_skipped_with_informative_message.
local skip_me = task("skip_me", function() dk.skip("not today") end)
local skipped_too = task("skipped_too", function(x) return "ran" end)
local runs_anyway = task("runs_anyway", { skip_on_upstream_skip = false }, function(x)
  return "ran anyway"
end)

return Flow("signal-skip", function()
  local s = skip_me()
  skipped_too(s)
  runs_anyway(s)
end)
