-- Prefect 1: tests/engine/test_task_runner.py::TestCheckUpstreamSkipped::
-- test_doesnt_raise_if_single_mapped_upstream_skipped_and_edge_is_mapped (in a flow)
-- skip_first's child 0 skips. each_default's child 0 is Skipped, the others run; the parent is
-- Mapped, not Skipped. each_runs (skip_on_upstream_skip = false) runs all three children.
local items = dk.task("items", function() return { 1, 2, 3 } end)
local skip_first = dk.task("skip_first", function(x)
  if x == 1 then dk.skip("one is skipped") end
  return x
end)
local each_default = dk.task("each_default", function(x) return "ran" end)
local each_runs = dk.task("each_runs", { skip_on_upstream_skip = false },
  function(x) return "ran" end)

return Flow("skip_on_upstream_skip_mapped", function()
  local skipped = skip_first:map(items())
  each_default:map(skipped)
  each_runs:map(skipped)
end)
