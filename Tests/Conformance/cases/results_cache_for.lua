-- Prefect 1: tests/engine/test_task_runner.py, test_task_runner_with_cache_for (cache_result:
-- a task with cache_for ends Cached), with each of tests/engine/test_cache_validators.py's
-- validators; the cache is kept in a fixed directory, so later runs find it (same states).
local HOUR = 3600
local factor = Parameter("factor")
local double = task("double", { cache_for = HOUR, cache_validator = dk.cache.all_inputs }, function(x) return x * 2 end)
local scale = task("scale", { cache_for = HOUR, cache_validator = dk.cache.partial_parameters_only { "factor" } },
  function(xs, f)
    local out = {}
    for i, x in ipairs(xs) do out[i] = x * f end
    return out
  end)
local total = task("total", { cache_for = HOUR, cache_validator = dk.cache.all_parameters }, function(xs)
  local sum = 0
  for _, x in ipairs(xs) do sum = sum + x end
  return sum
end)
local first = task("first", { cache_for = HOUR, cache_validator = dk.cache.partial_inputs_only { "xs" } },
  function(xs, _) return xs[1] end)
local label = task("label", { cache_for = HOUR }, function() return "cached" end)
local report = task("report", function(t, f, l) return l .. ": " .. t .. " " .. f end)

return Flow("results_cache_for", { result = dk.results.Local { dir = "/tmp/dkrun-conformance-results" } }, function()
  local scaled = scale(double:map({ 1, 2, 3 }), factor)
  report(total(scaled), first(scaled, 7), label())
end)
