--- dk.http: HTTP and HTTPS requests through libcurl.
-- request{method=, url=, headers=, body=, timeout=, retries=, ca_file=, insecure=, redirects=}
-- returns {status, headers, body} (header names in lower case) for any answer, 404 and 500
-- included. TLS is verified (ca_file adds a CA bundle; insecure = true turns checks off),
-- http_proxy / https_proxy / no_proxy are honoured as curl does, redirects are followed.
-- retries repeats idempotent requests after connection failures, timeouts and 5xx answers.
-- A failed transfer is an error that says what failed: DNS, connection, timeout, TLS.
-- The task's deadline (its timeout) ends the transfer and its retries too.
local native = require("dk")._native

local http = {}

local OPTIONS = {
  method = "string", url = "string", headers = "table", body = "string", timeout = "number",
  retries = "number", ca_file = "string", insecure = "boolean", redirects = "boolean",
}

function http.request(request)
  if type(request) ~= "table" then error("bad argument #1 to 'request' (table expected, got " .. type(request) .. ")", 2) end
  for k, v in pairs(request) do
    if OPTIONS[k] == nil then error("bad argument #1 to 'request' (unknown field '" .. tostring(k) .. "')", 2) end
    if type(v) ~= OPTIONS[k] then
      error("bad argument #1 to 'request' (field '" .. k .. "': " .. OPTIONS[k] .. " expected, got " .. type(v) .. ")", 2)
    end
  end
  if request.url == nil then error("bad argument #1 to 'request' (field 'url' is required)", 2) end
  local ok, response = pcall(native.http, request)
  if not ok then error("dk.http: " .. response, 2) end
  return response
end

function http.get(url, options)
  local request = { url = url, method = "GET" }
  for k, v in pairs(options or {}) do request[k] = v end
  local ok, response = pcall(http.request, request)
  if not ok then error(response:gsub("^[^:]*:%d+: ", ""), 2) end
  return response
end

return http
