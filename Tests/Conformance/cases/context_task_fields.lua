-- A task reads its own fields from the context: task_name, task_full_name, task_tags, flow_name.
-- From Prefect 1's tests/engine/test_task_runner.py (initialize_run puts task_name and task_tags
-- in the context; run() sets task_full_name) and tests/engine/test_flow_runner.py (flow_name).
local describe = task("describe", { tags = { "beta", "alpha" } }, function()
  local ctx = dk.context
  local tags = { table.unpack(ctx.task_tags) }
  table.sort(tags)
  return {
    task_name = ctx.task_name,
    task_full_name = ctx.task_full_name,
    task_tags = tags,
    flow_name = ctx.flow_name,
  }
end)

return Flow("context-task-fields", function()
  describe()
end)
