-- A task with nout = 2 returns two values; each is used by its own downstream task.
-- From Prefect 1's tests/core/test_task.py (nout: `a, b = task()` gives two result handles) and
-- tests/core/test_flow.py.
local split = task("split", { nout = 2 }, function() return "left", 2 end)
local shout = task("shout", function(word) return word:upper() end)
local square = task("square", function(n) return n * n end)
local join = task("join", function(word, n) return string.format("%s-%d", word, n) end)

return Flow("nout-two", function()
  local word, number = split()
  shout(word)
  square(number)
  join(word, number)
end)
