-- Prefect 1: tests/engine/test_flow_runner.py,
-- test_flow_runner_runs_basic_flow_with_2_dependent_tasks (a chain of three, with results).
local one = task("one", function() return 1 end)
local add_ten = task("add_ten", function(x) return x + 10 end)
local describe = task("describe", function(x)
  return { value = x, half = x / 2, items = { x, x * 2 }, label = "eleven" }
end)

return Flow("basic_linear_chain", function()
  describe(add_ten(one()))
end)
