--- dk.json: JSON text to and from Lua values.
-- encode(value) writes object keys in sorted order, so equal tables give equal text;
-- decode(text) errors name the byte where the text goes wrong. JSON null decodes to nil.
local native = require("dk")._native

local json = {}

function json.encode(value)
  local ok, text = pcall(native.json_encode, value)
  if not ok then error("dk.json.encode: " .. text, 2) end
  return text
end

function json.decode(text)
  if type(text) ~= "string" then error("bad argument #1 to 'decode' (string expected, got " .. type(text) .. ")", 2) end
  local ok, value = pcall(native.json_decode, text)
  if not ok then error("dk.json.decode: " .. value, 2) end
  return value
end

return json
