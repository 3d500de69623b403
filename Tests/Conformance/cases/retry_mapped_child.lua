-- One mapped child fails on its first run and is retried alone; every child succeeds.
-- From Prefect 1's tests/core/test_task_map.py retry tests (mapped children retry individually).
local numbers = task("numbers", function() return { 1, 2, 3 } end)
local flaky_double = task("flaky_double", { max_retries = 1, retry_delay = 0 }, function(x)
  if x == 2 and dk.context.attempt == 1 then error("child 2 fails once") end
  return 2 * x
end)
local total = task("total", function(xs)
  local s = 0
  for _, x in ipairs(xs) do s = s + x end
  return s
end)

return Flow("retry-mapped-child", function()
  total(flaky_double:map(numbers()))
end)
