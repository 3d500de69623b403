-- The smallest flow: two tasks, one passing its result to the other.
local greet = task("greet", function(name) return "Hello, " .. name .. "!" end)
local shout = task("shout", function(text) print(text:upper()) return #text end)

return Flow("hello", function()
  local name = Parameter("name", { default = "world" })
  shout(greet(name))
end)
