-- A merge of branches that all skipped is Skipped (result nil); the flow is Success.
-- From Prefect 1's tests/tasks/test_control_flow.py::test_merging_skips_if_all_upstreams_skip.
-- dk.merge's task is named "Merge" as Prefect's is.
local skip_a = task("skip_a", function() dk.skip("not today") end)
local skip_b = task("skip_b", function() dk.skip("not today") end)

return Flow("skipper", function()
  dk.merge(skip_a(), skip_b())
end)
