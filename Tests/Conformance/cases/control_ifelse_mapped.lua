-- ifelse with { mapped = true } decides per element of a mapped condition; merge joins per element.
-- From Prefect 1's prefect/tasks/control_flow/conditional.py (ifelse, switch and merge take
-- `mapped`), in the style of tests/tasks/test_control_flow.py::test_merge_diamond_flow_with_results.
-- The trailing plain table of dk.ifelse and dk.merge holds Prefect's keyword arguments.
local numbers = task("numbers", function() return { 1, 2, 3, 4 } end)
local is_even = task("is_even", function(x) return x % 2 == 0 end)
local halve = task("halve", function(x) return x // 2 end)
local triple = task("triple", function(x) return 3 * x end)

return Flow("control-ifelse-mapped", function()
  local nums = numbers()
  local even = is_even:map(nums)
  local halves = halve:map(nums)
  local triples = triple:map(nums)
  dk.ifelse(even, halves, triples, { mapped = true })
  dk.merge(halves, triples, { mapped = true })
end)
