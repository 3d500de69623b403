--- dk.yaml: YAML through libyaml (anchors, aliases, merge keys, several documents).
-- load(text, [name]) reads one document, load_all(text, [name]) a list of them, load_file(path)
-- the one document of a file (a Pod spec for cluster_kwargs); errors say name:line:column. dump(value) and dump_all(list) write block-style YAML, quoting strings
-- that would otherwise read back as another type.
local native = require("dk")._native

local yaml = {}

-- Calls a native; an error names the caller of the public function (level 3), so the
-- public functions must not tail-call this.
local function call(what, f, ...)
  local ok, result = pcall(f, ...)
  if not ok then error("dk.yaml." .. what .. ": " .. result, 3) end
  return result
end

function yaml.load(text, name)
  local value = call("load", native.yaml_load, text, name or "yaml", false)
  return value
end

function yaml.load_all(text, name)
  local documents = call("load_all", native.yaml_load, text, name or "yaml", true)
  return documents
end

function yaml.load_file(path)
  local value = call("load_file", native.yaml_load_file, path)
  return value
end

function yaml.dump(value)
  local text = call("dump", native.yaml_dump, value, false)
  return text
end

function yaml.dump_all(documents)
  local text = call("dump_all", native.yaml_dump, documents, true)
  return text
end

return yaml
