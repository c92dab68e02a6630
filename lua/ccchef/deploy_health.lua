-- ccchef.deploy_health: the deploy resource's health check, asked after
-- `current` moved: an HTTP GET (ccchef.http) that must answer the expected
-- status (and contain the expected body text), tried `attempts` times
-- `delay` seconds apart, because a server may need a moment to pick up the
-- new release (mod_wsgi reloads its daemon on the next request).
local proc = require("ccchef.proc")

local M = {}

M.DEFAULTS = { status = 200, attempts = 3, delay = 1, timeout = 5 }

-- Checks the fields of health_check (compile time); returns nil or the
-- problem.
function M.problem(hc)
  if type(hc.url) ~= "string" then return "health_check.url is required (a string)" end
  if not hc.url:match("^http://[^/%s]+") then
    return string.format("health_check.url %q: only http:// URLs (https is not supported)", hc.url)
  end
  for k, v in pairs(hc) do
    if k == "url" or k == "body" or k == "host" then
      if type(v) ~= "string" then return string.format("health_check.%s must be a string", k) end
    elseif k == "status" or k == "attempts" then
      if math.type(v) ~= "integer" or v < 1 then
        return string.format("health_check.%s must be a positive integer", k)
      end
    elseif k == "delay" or k == "timeout" then
      if type(v) ~= "number" or v < 0 or (k == "timeout" and v == 0) then
        return string.format("health_check.%s must be a number of seconds", k)
      end
    else
      return string.format("health_check: unknown field '%s' (url, status, body, host, attempts, delay, timeout)", k)
    end
  end
  return nil
end

local function field(hc, k)
  if hc[k] ~= nil then return hc[k] end
  return M.DEFAULTS[k]
end

-- One request: nil when it answered as expected, else what came back.
local function probe(hc)
  local http = require("ccchef.http")
  local res, err = http.request({ url = hc.url, method = "GET", host = hc.host,
    timeout_ms = math.floor(field(hc, "timeout") * 1000), max_body = 1024 * 1024 })
  if not res then return err end
  local want = field(hc, "status")
  if res.status ~= want then
    return string.format("status %d (wanted %d)", res.status, want)
  end
  if hc.body and not (res.body or ""):find(hc.body, 1, true) then
    return string.format("status %d, but the body lacks %q", res.status, hc.body)
  end
  return nil
end

-- nil when healthy, else a sentence saying what the last attempt saw.
function M.check(hc)
  local attempts, problem = field(hc, "attempts"), nil
  for i = 1, attempts do
    problem = probe(hc)
    if not problem then return nil end
    if i < attempts and field(hc, "delay") > 0 then
      proc.run({ "sleep", tostring(field(hc, "delay")) })
    end
  end
  return string.format("GET %s: %s (%d %s)", hc.url, problem, attempts, attempts == 1 and "attempt" or "attempts")
end

return M
