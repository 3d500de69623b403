-- A case block around a mapped task and its reduce.
-- From Prefect 1's tests/tasks/test_control_flow.py::TestCase (test_case_execution) with a mapped
-- task inside the block, as in the docs' "Mapping" + "case" examples. Variants: the condition
-- true (true) or false (false).
local numbers = task("numbers", function() return { 1, 2, 3 } end)
local flag = task("flag", function(value) return value end)
local double = task("double", function(x) return 2 * x end)
local total = task("total", function(xs)
  local s = 0
  for _, x in ipairs(xs) do s = s + x end
  return s
end)

return Flow("control-case-mapped", function()
  local nums = numbers()
  dk.case(flag(Parameter("condition")), true, function()
    total(double:map(nums))
  end)
end)
