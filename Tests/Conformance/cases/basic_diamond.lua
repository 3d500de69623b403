-- Prefect 1: tests/engine/test_flow_runner.py, test_flow_runner_runs_basic_flow_with_2_dependent_tasks
-- (the same rule on a diamond: a task runs once all its upstream tasks succeeded).
local source = task("source", function() return 3 end)
local double = task("double", function(x) return x * 2 end)
local increment = task("increment", function(x) return x + 1 end)
local join = task("join", function(left, right) return { left, right, "joined" } end)

return Flow("basic_diamond", function()
  local s = source()
  join(double(s), increment(s))
end)
