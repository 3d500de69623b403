-- Prefect 1: tests/engine/test_flow_runner.py, test_flow_run_state_determined_by_reference_tasks.
local boom = task("boom", function() error("custom-error-message") end)
local report = task("report", { trigger = dk.triggers.all_finished }, function(x) return "reported" end)

local flow = Flow("basic_reference_tasks", function()
  report(boom())
end)
flow:set_reference_tasks { flow:get_tasks { name = "boom" }[1] }
return flow
