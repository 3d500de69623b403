-- Every mapped child loops on its own: child n loops n times, summing its loop counts.
-- From Prefect 1's looping docs (the mapped-fibonacci example) and
-- tests/engine/test_task_runner.py::TestLooping::test_looping_works.
local loops = task("loops", function() return { 1, 2, 3 } end)
local climb = task("climb", function(n)
  local count = dk.context.loop_count or 1
  local total = (dk.context.loop_result or 0) + count
  if count < n then dk.loop(total) end
  return total
end)
local collect = task("collect", function(totals) return totals end)

return Flow("loop-mapped", function()
  collect(climb:map(loops()))
end)
