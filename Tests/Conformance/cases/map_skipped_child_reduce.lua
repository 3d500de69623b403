-- Prefect 1, in a flow: tests/engine/test_task_runner.py::TestCheckUpstreamSkipped::
-- test_raises_if_single_mapped_upstream_skipped
-- add's child 0 skips. total reduces over all the children, one is Skipped, so
-- total is Skipped; count_present (skip_on_upstream_skip = false) runs and counts
-- 2 numbers (in Prefect the skipped child's slot holds its SKIP signal, here nil).
local ll = dk.task("ll", function() return { 1, 2, 3 } end)
local add = dk.task("add", function(x)
  if x == 1 then dk.skip("One is no good") end
  return x + 1
end)
local total = dk.task("total", function(xs)
  local s = 0
  for _, x in pairs(xs) do s = s + x end
  return s
end)
local count_present = dk.task("count_present", { skip_on_upstream_skip = false }, function(xs)
  local n = 0
  for _, x in pairs(xs) do
    if math.type(x) == "integer" then n = n + 1 end
  end
  return n
end)

return Flow("map_skipped_child_reduce", function()
  local added = add:map(ll())
  total(added)
  count_present(added)
end)
