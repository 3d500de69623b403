-- The run's context fields exist with their Prefect formats: ids, run name and dates.
-- From Prefect 1's tests/engine/test_flow_runner.py (FlowRunner.initialize_run's dates: today,
-- yesterday, tomorrow and their _nodash forms) and the flow_run_id / task_run_id context tests.
-- The values change every run, so the task returns checks of their form.
local function nonempty(s) return type(s) == "string" and #s > 0 end

-- The ISO date `days` away from an ISO date (at noon, clear of daylight-saving changes).
local function shift(iso, days)
  local y, m, d = iso:match("^(%d+)-(%d+)-(%d+)$")
  local t = os.time { year = tonumber(y), month = tonumber(m), day = tonumber(d) + days, hour = 12 }
  return os.date("%Y-%m-%d", t)
end

local check_context = task("check_context", function()
  local ctx = dk.context
  return {
    flow_run_id = nonempty(ctx.flow_run_id),
    flow_run_name = nonempty(ctx.flow_run_name),
    task_run_id = nonempty(ctx.task_run_id),
    today_nodash = ctx.today_nodash == ctx.today:gsub("-", ""),
    yesterday = ctx.yesterday == shift(ctx.today, -1),
    tomorrow = ctx.tomorrow == shift(ctx.today, 1),
    yesterday_nodash = ctx.yesterday_nodash == ctx.yesterday:gsub("-", ""),
    tomorrow_nodash = ctx.tomorrow_nodash == ctx.tomorrow:gsub("-", ""),
    task_run_count = ctx.task_run_count,
  }
end)

return Flow("context-run-fields", function()
  check_context()
end)
