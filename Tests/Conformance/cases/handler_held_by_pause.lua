-- A task held behind a paused task stays Pending without a change of state, so its state
-- handlers are not called (a handler that would skip a Pending task does nothing).
-- From Prefect 1's engine/runner.py call_state_handlers (handlers run only when the state changes)
-- and task_runner.py check_upstream_finished (ENDRUN with the same Pending state).
local function no_waiting(t, old, new)
  if new.state == "Pending" then return { state = "Skipped", message = "not waiting" } end
end

local wait_here = task("wait_here", function() dk.pause("waiting for approval") end)
local held = task("held", { state_handlers = { no_waiting } }, function(x) return "ran" end)

return Flow("handler-held-by-pause", function()
  held(wait_here())
end)
