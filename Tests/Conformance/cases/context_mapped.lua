-- Mapped children see their map_index and a task_full_name of name[index].
-- From Prefect 1's tests/engine/test_task_runner.py::test_task_runner_logs_map_index_for_mapped_tasks
-- (map_index in the context) and TaskRunner.run (task_full_name = name[map_index]).
local letters = task("letters", function() return { "a", "b", "c" } end)
local label = task("label", function(letter)
  local ctx = dk.context
  return { letter = letter, map_index = ctx.map_index, task_full_name = ctx.task_full_name }
end)

return Flow("context-mapped", function()
  label:map(letters())
end)
