-- Prefect 1: tests/core/test_task_map.py::test_map_skips_return_exception_as_result
-- Child 0 skips itself: Mapped [Skipped, Success, Success], results [_, 3, 4]; flow Success.
local ll = dk.task("ll", function() return { 1, 2, 3 } end)
local add = dk.task("add", function(x)
  if x == 1 then dk.skip("One is no good") end
  return x + 1
end)

return Flow("map_skipped_child", function()
  add:map(ll())
end)
