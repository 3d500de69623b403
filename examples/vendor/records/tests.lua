--- Tests of the records library: `dkrun`'s test suite runs this file; each check raises on failure.
local records = require("records")

local function same(a, b, what)
  local ja, jb = dk.json.encode(a), dk.json.encode(b)
  if ja ~= jb then error(string.format("%s: expected %s, got %s", what, jb, ja), 2) end
end

same(records.csv('name,qty\napple,3\n"pear, green",5\n"say ""hi""",0\n', { "qty" }),
     { { name = "apple", qty = 3 }, { name = "pear, green", qty = 5 }, { name = 'say "hi"', qty = 0 } }, "csv")
same(records.csv(""), {}, "empty csv")
local ok, err = pcall(records.csv, "a,b\n1\n")
assert(not ok and err == "line 2 has 1 fields, the header has 2", err)
ok, err = pcall(records.csv, "a\nx\n", { "a" })
assert(not ok and err == "line 2: a is not a number", err)
same(records.summarise({ { k = "x", v = 1 }, { k = "y", v = 5 }, { k = "x", v = 3 } }, "v", "k"),
     { x = { count = 2, total = 4, min = 1, max = 3 }, y = { count = 1, total = 5, min = 5, max = 5 } }, "summarise")
return "ok"
