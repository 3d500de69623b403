-- Prefect 1: tests/engine/test_flow_runner.py::TestMapping::
-- test_terminal_mapped_states_are_used_for_flow_state (the mapped task as reference task)
-- return_task's child 1 fails; report (all_finished) runs and is the terminal task, but the
-- reference task is return_task, whose children count: the flow Failed.
local items = dk.task("items", function() return { 0, 1, 2 } end)
local return_task = dk.task("return_task", function(x)
  if x == 1 then error("division by zero") end
  return 1 / (x - 1)
end)
local report = dk.task("report", { trigger = dk.triggers.all_finished },
  function(xs) return "done" end)

return Flow("ref_mapped_failed_child", function(flow)
  local mapped = return_task:map(items())
  report(mapped)
  flow:set_reference_tasks { mapped }
end)
