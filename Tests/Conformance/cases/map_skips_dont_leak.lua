-- Prefect 1: tests/core/test_task_map.py::test_map_skips_dont_leak_out
-- add_a's child 0 skips; add_b's child 0 is Skipped by skip_on_upstream_skip (result None),
-- the others run: add_b's result is [None, 4, 5]; the flow succeeds.
local ll = dk.task("ll", function() return { 1, 2, 3 } end)
local function add_fn(x)
  if x == 1 then dk.skip("One is no good") end
  return x + 1
end
local add_a = dk.task("add_a", add_fn)
local add_b = dk.task("add_b", add_fn)

return Flow("map_skips_dont_leak", function()
  add_b:map(add_a:map(ll()))
end)
