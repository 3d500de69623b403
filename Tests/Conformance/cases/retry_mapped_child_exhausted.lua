-- One mapped child fails on every run: it ends Failed after its retries, the reduce is TriggerFailed.
-- From Prefect 1's tests/core/test_task_map.py (a failed child fails its reduce) with retries.
local numbers = task("numbers", function() return { 1, 2, 3 } end)
local fragile_double = task("fragile_double", { max_retries = 1, retry_delay = 0 }, function(x)
  if x == 2 then error("child 2 always fails") end
  return 2 * x
end)
local total = task("total", function(xs)
  local s = 0
  for _, x in ipairs(xs) do s = s + x end
  return s
end)

return Flow("retry-mapped-child-exhausted", function()
  total(fragile_double:map(numbers()))
end)
