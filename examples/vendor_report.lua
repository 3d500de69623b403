-- A flow built from a vendor library (examples/vendor/records): read a CSV file, summarise
-- a column per group, write the summary as JSON.
--
--   dkrun examples/vendor_report.lua --param input=examples/sales.csv --param output=/tmp/summary.json
local records = require("records")

local show = task("show", function(summary)
  for _, region in ipairs({ "north", "south" }) do
    local g = summary[region]
    print(string.format("%s: %d sales, total %d", region, g.count, g.total))
  end
end)

return Flow("sales report", function()
  local rows = records.parse_csv(records.read(Parameter("input", { default = "examples/sales.csv" })), { "amount" })
  local summary = records.summarise_task(rows, "amount", "region")
  show(summary)
  records.write_json(Parameter("output", { default = "/tmp/dkrun-sales-summary.json" }), summary)
end)
