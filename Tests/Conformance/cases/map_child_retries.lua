-- Prefect 1: tests/core/test_task_map.py::test_map_allows_for_retries (retried within one run)
-- flaky's child 1 fails on its first attempt and is retried alone: [10, 20, 30], total 60.
local ll = dk.task("ll", function() return { 1, 2, 3 } end)
local flaky = dk.task("flaky", { max_retries = 1, retry_delay = 0 }, function(x)
  if x == 2 and dk.context.attempt == 1 then error("transient") end
  return x * 10
end)
local total = dk.task("total", function(xs)
  local s = 0
  for _, x in ipairs(xs) do s = s + x end
  return s
end)

return Flow("map_child_retries", function()
  total(flaky:map(ll()))
end)
