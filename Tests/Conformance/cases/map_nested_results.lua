-- Prefect 1: tests/core/test_task_map.py (NestTask: children returning lists), with dict records
-- Children take and return tables (dicts with lists inside, nested lists); the results
-- cross to the reduce unchanged. An empty list is {} here.
local records = dk.task("records", function()
  return { { id = 1, tags = { "a" } }, { id = 2, tags = {} }, { id = 3, tags = { "b", "c" } } }
end)
local enrich = dk.task("enrich", function(record)
  return { id = record.id, n_tags = #record.tags, tags = record.tags }
end)
local nest = dk.task("nest", function(record) return { record.id, { record.id * 10 } } end)
local gather = dk.task("gather", function(enriched, nested)
  local ids = {}
  for i, r in ipairs(enriched) do ids[i] = r.id end
  return { ids = ids, nested = nested }
end)

return Flow("map_nested_results", function()
  local recs = records()
  gather(enrich:map(recs), nest:map(recs))
end)
