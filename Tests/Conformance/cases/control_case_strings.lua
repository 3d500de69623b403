-- Two case blocks on a string condition merged back together.
-- From Prefect 1's tests/tasks/test_control_flow.py::TestCase::test_case_execution[b] and [c]
-- (variants b and c: the condition's value).
local function identity(x) return x end
local function inc(x) return x + 1 end

return Flow("control-case-strings", function()
  local cond = task("cond", identity)(Parameter("value"))
  local b, d
  dk.case(cond, "a", function()
    local a = task("a", identity)(1)
    b = task("b", inc)(a)
  end)
  dk.case(cond, "b", function()
    local c = task("c", identity)(3)
    d = task("d", inc)(c)
  end)
  dk.merge(b, d)
end)
