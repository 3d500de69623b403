--- dk.secrets: secrets for tasks, never printed.
-- get(name) looks in $DKRUN_SECRET_<NAME>, then the YAML map in $DKRUN_SECRETS_FILE, then
-- the file <name> in $DKRUN_SECRETS_DIR (default /var/run/secrets/dkrun, where a Kubernetes
-- Secret is mounted). A missing secret is an error naming it. Every value get returns is
-- replaced by **** in each line dkrun prints.
local native = require("dk")._native

local secrets = {}

function secrets.get(name)
  if type(name) ~= "string" then error("bad argument #1 to 'get' (string expected, got " .. type(name) .. ")", 2) end
  local ok, value = pcall(native.secret, name)
  if not ok then error("dk.secrets.get: " .. value, 2) end
  return value
end

return secrets
