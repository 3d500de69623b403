--- records: tasks that read CSV and JSON records, summarise them and write results.
-- The plain functions (records.csv, records.summarise) are tested in tests.lua; the tasks
-- (records.read, records.parse_csv, ...) wrap them for flows.
local records = {}

--- Splits one CSV line: commas separate fields; "quoted, fields" may hold commas and "".
local function split_line(line)
  local fields, i, n = {}, 1, #line
  while i <= n + 1 do
    if line:sub(i, i) == '"' then
      local value, j = "", i + 1
      while true do
        local q = line:find('"', j, true)
        if not q then error("unterminated quoted field in: " .. line, 0) end
        value = value .. line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then value, j = value .. '"', q + 2 else i = q + 1 break end
      end
      fields[#fields + 1] = value
      i = i + 1  -- the comma
    else
      local comma = line:find(",", i, true) or n + 1
      fields[#fields + 1] = line:sub(i, comma - 1)
      i = comma + 1
    end
  end
  return fields
end

--- csv(text): a list of rows, each a table keyed by the header line's names. Numbers stay
-- strings unless `numbers` names their columns.
function records.csv(text, numbers)
  local lines = {}
  for line in text:gmatch("[^\r\n]+") do lines[#lines + 1] = line end
  if #lines == 0 then return {} end
  local header, rows = split_line(lines[1]), {}
  local numeric = {}
  for _, name in ipairs(numbers or {}) do numeric[name] = true end
  for i = 2, #lines do
    local fields, row = split_line(lines[i]), {}
    if #fields ~= #header then
      error(string.format("line %d has %d fields, the header has %d", i, #fields, #header), 0)
    end
    for k, name in ipairs(header) do
      local value = fields[k]
      if numeric[name] then
        value = tonumber(value) or error(string.format("line %d: %s is not a number", i, name), 0)
      end
      row[name] = value
    end
    rows[#rows + 1] = row
  end
  return rows
end

--- summarise(rows, field, by): count, total, min and max of a numeric field, per `by` group.
function records.summarise(rows, field, by)
  local groups = {}
  for _, row in ipairs(rows) do
    local key = by and tostring(row[by]) or "all"
    local g = groups[key] or { count = 0, total = 0 }
    local v = row[field]
    g.count, g.total = g.count + 1, g.total + v
    g.min = g.min and math.min(g.min, v) or v
    g.max = g.max and math.max(g.max, v) or v
    groups[key] = g
  end
  return groups
end

-- The tasks.
records.read = task("records.read", function(path) return dk.fs.read(path) end)
records.parse_csv = task("records.parse_csv", function(text, numbers) return records.csv(text, numbers) end)
records.parse_json = task("records.parse_json", function(text) return dk.json.decode(text) end)
records.summarise_task = task("records.summarise", function(rows, field, by) return records.summarise(rows, field, by) end)
records.write_json = task("records.write_json", function(path, value)
  dk.fs.write(path, dk.json.encode(value) .. "\n")
  dk.log("wrote %s", path)
  return path
end)

return records
