-- Prefect 1: tests/core/test_task_map.py::test_map_failures_dont_leak_out
-- [-1, 0, 1] -> add [0, 1, 2] -> div: child 0 fails -> ident: child 0 TriggerFailed, the
-- others [1, 0.5]; the flow Failed (the terminal task has a failed child).
local ll = dk.task("ll", function(start) return { start, start + 1, start + 2 } end)
local add = dk.task("add", function(x) return x + 1 end)
local div = dk.task("div", function(x)
  if x == 0 then error("division by zero") end
  return 1 / x
end)
local ident = dk.task("ident", function(x) return x end)

return Flow("map_failures_dont_leak", function()
  ident:map(div:map(add:map(ll { start = -1 })))
end)
