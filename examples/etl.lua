-- A realistic flow: extract records, transform each one in a mapped task (with retries for
-- a flaky step), load the good ones, and report whatever happened (an always-run trigger).
--
--   dkrun examples/etl.lua --param batch=5 --param fail_every=0
local batch = Parameter("batch", { default = 8 })
local fail_every = Parameter("fail_every", { default = 3 })

local extract = task("extract", function(n)
  local records = {}
  for i = 1, n do records[i] = { id = i, amount = i * 10 } end
  dk.log("extracted %d records", n)
  return records
end)

-- Fails on its first attempt for every `every`-th record, then succeeds: retries at work.
local transform = task("transform", { max_retries = 2, retry_delay = 0.01, tags = { "cpu" } },
  function(record, every)
    if every > 0 and record.id % every == 0 and dk.context.attempt == 1 then
      error("transient failure on record " .. record.id)
    end
    return { id = record.id, amount = record.amount, taxed = record.amount * 1.2 }
  end)

local load = task("load", function(rows)
  local total = 0
  for _, row in ipairs(rows) do total = total + row.taxed end
  dk.log("loaded %d rows, total %.1f", #rows, total)
  return total
end)

local report = task("report", { trigger = dk.triggers.always_run }, function(total)
  if total == nil then
    dk.log.warning("nothing was loaded")
    return "failed"
  end
  print(string.format("ETL done: total %.1f", total))
  return "ok"
end)

return Flow("etl", function()
  local records = extract(batch)
  local rows = transform:map(records, dk.unmapped(fail_every))
  local total = load(rows)
  report(total)
end)
