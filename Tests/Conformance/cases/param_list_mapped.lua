-- A list parameter mapped over, and a table parameter passed whole to every child.
-- From Prefect 1's tests/core/test_task_map.py (mapping over a Parameter, test_map_over_parameters)
-- and tests/core/test_parameter.py.
local measure = task("measure", function(item, config)
  return string.format("%d %s", item * config.scale, config.unit)
end)

return Flow("param-list-mapped", function()
  measure:map(Parameter("items"), dk.unmapped(Parameter("config")))
end)
