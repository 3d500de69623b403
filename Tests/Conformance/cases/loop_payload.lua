-- The largest Fibonacci number below M, carrying a table between LOOP iterations.
-- From Prefect 1's docs (core/advanced_tutorials/task-looping.md, compute_large_fibonacci), with
-- the API call replaced by the recurrence.
local largest_fibonacci = task("largest_fibonacci", function(limit)
  local payload = dk.context.loop_result or { previous = 1, current = 1 }
  local following = payload.previous + payload.current
  if following > limit then return payload.current end
  dk.loop({ previous = payload.current, current = following })
end)

return Flow("loop-payload", function()
  largest_fibonacci(Parameter("limit", { default = 100 }))
end)
