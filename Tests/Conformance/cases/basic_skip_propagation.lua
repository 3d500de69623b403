-- Prefect 1: tests/engine/test_task_runner.py, test_task_that_raises_skip_gets_skipped and
-- test_task_that_has_upstream_skip_gets_skipped_with_informative_message; TestCheckUpstreamSkipped
-- test_doesnt_raise_with_skipped_and_flag_set (skip_on_upstream_skip=False).
local maybe = task("maybe", function() dk.skip("nothing to do") end)
local after = task("after", function(x) return "never" end)
local after_after = task("after_after", function(x) return "never either" end)
local regardless = task("regardless", { skip_on_upstream_skip = false }, function(x) return "ran anyway" end)

return Flow("basic_skip_propagation", function()
  local m = maybe()
  after_after(after(m))
  regardless(m)
end)
