-- Tasks made inside dk.case(cond, true, ...) run only when cond's result is true.
-- From Prefect 1's tests/tasks/test_control_flow.py::TestCase::test_case_upstream_tasks and
-- test_case_execution: a task with an upstream made in the block (c, e) hangs off it, one without
-- (b, d) off the case's condition; a task made outside the block (a) always runs. Variants: the
-- condition true (true) or false (false).
local function identity(x) return x end
local function inc(x) return x + 1 end

return Flow("control-case", function()
  local a = task("a", identity)(0)
  local cond = task("cond", identity)(Parameter("condition"))
  dk.case(cond, true, function()
    local b = task("b", inc)(a)
    task("c", inc)(b)
    local d = task("d", identity)(1)
    task("e", inc)(d)
  end)
end)
