-- Prefect 1: tests/test_triggers.py::test_not_all_skipped_with_all_skipped (across mapped children)
-- With skip_on_upstream_skip = false: reduce_runs follows skip_mixed (child 0 skipped) and
-- runs; reduce_all_skipped follows skip_all: Skipped; each maps over skip_mixed: [Skipped,
-- Success, Success]. reduce_skipped_first keeps the default and is Skipped by skip_mixed's
-- skipped child. The flow succeeds.
local items = dk.task("items", function() return { 1, 2, 3 } end)
local skip_mixed = dk.task("skip_mixed", function(x)
  if x == 1 then dk.skip("skip_mixed skipped 1") end
  return x
end)
local skip_all = dk.task("skip_all", function(x) dk.skip("skip_all skipped " .. x) end)
local reduce_runs = dk.task("reduce_runs",
  { trigger = dk.triggers.not_all_skipped, skip_on_upstream_skip = false },
  function() return "ran" end)
local reduce_all_skipped = dk.task("reduce_all_skipped",
  { trigger = dk.triggers.not_all_skipped, skip_on_upstream_skip = false },
  function() return "ran" end)
local reduce_skipped_first = dk.task("reduce_skipped_first",
  { trigger = dk.triggers.not_all_skipped },
  function() return "ran" end)
local each = dk.task("each",
  { trigger = dk.triggers.not_all_skipped, skip_on_upstream_skip = false },
  function(x) return "ran" end)

return Flow("trigger_not_all_skipped_mapped", function()
  local xs = items()
  local skip_mixed_map = skip_mixed:map(xs)
  local skip_all_map = skip_all:map(xs)
  reduce_runs():set_upstream(skip_mixed_map)
  reduce_all_skipped():set_upstream(skip_all_map)
  reduce_skipped_first():set_upstream(skip_mixed_map)
  each:map(skip_mixed_map)
end)
