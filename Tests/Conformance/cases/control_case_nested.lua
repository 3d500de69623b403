-- A case block nested in another, each merged back.
-- From Prefect 1's tests/tasks/test_control_flow.py::TestCase::test_nested_case_execution (the inner
-- condition is a string, "yes"/"no", as in the Python twin). dk.merge's last argument, a plain
-- table, names the merge task as Prefect's merge(..., name=) does. Variants: outer condition true
-- and inner "no" (outer_true), outer condition false and inner "yes" (outer_false).
local function identity(x) return x end
local function inc(x) return x + 1 end

return Flow("control-case-nested", function()
  local cond1 = task("cond1", identity)(Parameter("outer"))
  local inner = Parameter("inner") -- made outside the case block, as in the Python twin
  local a = task("a", identity)(0)
  local g, i
  dk.case(cond1, true, function()
    local cond2 = task("cond2", identity)(inner)
    local b = task("b", identity)(10)
    local d, f
    dk.case(cond2, "yes", function()
      local c = task("c", inc)(a)
      d = task("d", inc)(c)
    end)
    dk.case(cond2, "no", function()
      local e = task("e", inc)(b)
      f = task("f", inc)(e)
    end)
    g = dk.merge(d, f, { name = "g" })
  end)
  dk.case(cond1, false, function()
    local h = task("h", identity)(3)
    i = task("i", inc)(h)
  end)
  dk.merge(g, i, { name = "j" })
end)
