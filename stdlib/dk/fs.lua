--- dk.fs: whole-file reads and writes, directory listings, existence checks.
-- Everything else is Lua's io and os (io.lines, os.remove, os.rename, ...).
local native = require("dk")._native

local fs = {}

function fs.read(path)
  local f, err = io.open(path, "rb")
  if not f then error("dk.fs.read: " .. err, 2) end
  local data = f:read("a")
  f:close()
  return data
end

function fs.write(path, data)
  local f, err = io.open(path, "wb")
  if not f then error("dk.fs.write: " .. err, 2) end
  f:write(data)
  f:close()
end

function fs.list(path)
  local ok, names = pcall(native.list_directory, path)
  if not ok then error("dk.fs.list: " .. names, 2) end
  return names
end

function fs.exists(path) return native.file_kind(path) ~= nil end
function fs.is_dir(path) return native.file_kind(path) == "directory" end

return fs
