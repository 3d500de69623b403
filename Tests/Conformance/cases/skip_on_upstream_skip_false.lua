-- Prefect 1: tests/engine/test_task_runner.py::TestCheckUpstreamSkipped::
-- test_doesnt_raise_with_skipped_and_flag_set
-- runs_anyway has skip_on_upstream_skip = false: it runs after the skipped skipper (its
-- argument is the skipped task's result), and so does after_runs ("ran!").
local skipper = dk.task("skipper", function() dk.skip("nothing to do") end)
local runs_anyway = dk.task("runs_anyway", { skip_on_upstream_skip = false },
  function(x) return "ran" end)
local after_runs = dk.task("after_runs", function(x) return x .. "!" end)

return Flow("skip_on_upstream_skip_false", function()
  after_runs(runs_anyway(skipper()))
end)
