-- dk.flatten(x) next to an unmapped argument: each flattened element is paired with the whole value.
-- From Prefect 1's tests/core/test_task_map.py::TestFlatMap together with unmapped arguments.
local nested = task("nested", function() return { { "a", "b" }, { "c" } } end)
local suffix = task("suffix", function() return "!" end)
local join = task("join", function(x, s) return x .. s end)

return Flow("flatten-unmapped", function()
  join:map(dk.flatten(nested()), dk.unmapped(suffix()))
end)
