-- http_check: GET (or HEAD) a URL and expect a status, headers and a body
-- substring, trying again after a delay until it passes or the attempts are
-- spent. A post-converge health check in a recipe:
--
--   http_check "http://127.0.0.1:8080/health" {
--     host = "www.example.org", expect_body = "ok", retries = 10, retry_delay = 0.5,
--   }
--
-- It changes nothing: a passing check is up to date (0 updated), a failing
-- one fails the resource with what was wanted and what came back. The
-- request is a probe, so it is made in load, under why-run too (docs/
-- failover.md, "http_check", gives the decision): when an earlier resource
-- would change something, a failure under why-run is reported as unknown
-- until those changes are made, not as a failure.
local errors = require("ccchef.errors")
local http = require("ccchef.http")
local sys = require("ccchef.sys")

local M = {
  name = "http_check",
  name_property = "url",
  properties = {
    url = { type = "string" },
    method = { type = "string", default = "GET", one_of = { "GET", "HEAD" } },
    host = { type = "string" },
    headers = { type = "table" },
    expect_status = { type = "codes", default = { 200 } },
    expect_header = { type = "table" },
    expect_body = { type = "string" },
    retries = { type = "integer", default = 0,
      validate = function(v) return v >= 0 and v <= 10000, "retries must be 0-10000" end },
    retry_delay = { type = "number", default = 1,
      validate = function(v) return v >= 0 and v <= 3600, "retry_delay must be 0-3600 seconds" end },
    timeout = { type = "number", default = 5,
      validate = function(v) return v > 0 and v <= 3600, "timeout must be more than 0 and at most 3600 seconds" end },
    max_body = { type = "integer", default = 1024 * 1024,
      validate = function(v) return v > 0, "max_body must be positive" end },
  },
  actions = { "check" },
  default_action = "check",
}

-- The request options, or nil and what is wrong with the properties.
local function request_opts(p)
  local opts = { url = p.url, method = p.method, host = p.host, headers = p.headers,
    timeout_ms = math.max(1, math.floor(p.timeout * 1000)), max_body = p.max_body }
  local ok_, err = http.build(opts)
  if not ok_ then return nil, err end
  for _, s in ipairs(p.expect_status) do
    if s < 100 or s > 999 then return nil, ("expect_status %d is not an HTTP status"):format(s) end
  end
  for name, value in pairs(p.expect_header or {}) do
    if type(name) ~= "string" or type(value) ~= "string" then
      return nil, "expect_header must map header names to strings"
    end
  end
  return opts
end

-- Bad input is found at compile time unless a value is lazy (then at
-- converge time, in load).
function M.validate(p, r)
  for name in pairs(r.lazy or {}) do
    if M.properties[name] then return end
  end
  local _, err = request_opts(p)
  if err then error(err, 0) end
end

-- What was wanted, for the failure message.
local function wanted(p)
  local parts = {}
  local codes = {}
  for i, s in ipairs(p.expect_status) do codes[i] = tostring(s) end
  parts[1] = "status " .. table.concat(codes, " or ")
  local names = {}
  for name in pairs(p.expect_header or {}) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    parts[#parts + 1] = ("header %s: %s"):format(name:lower(), p.expect_header[name])
  end
  if p.expect_body then parts[#parts + 1] = ("body containing %q"):format(p.expect_body) end
  return table.concat(parts, ", ")
end

local function excerpt(body)
  if #body > 200 then body = body:sub(1, 200) .. "..." end
  return ("%q"):format(body):gsub("\\\n", "\\n")
end

-- nil when the answer is what p expects, else what was wrong with it.
local function mismatch(p, res)
  local status_ok = false
  for _, s in ipairs(p.expect_status) do
    if res.status == s then status_ok = true end
  end
  if not status_ok then
    return ("got status %d%s"):format(res.status,
      res.headers.location and " (location: " .. res.headers.location .. ")" or "")
  end
  local names = {}
  for name in pairs(p.expect_header or {}) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local got = res.headers[name:lower()]
    if got ~= p.expect_header[name] then
      return ("got header %s: %s"):format(name:lower(), got or "(none)")
    end
  end
  if p.expect_body and not res.body:find(p.expect_body, 1, true) then
    return "got a body without it: " .. excerpt(res.body)
  end
end

-- The check itself: attempts until one passes or they are spent.
function M.load(p)
  local opts, err = request_opts(p)
  if not opts then errors.converge(err) end
  local last
  for attempt = 1, p.retries + 1 do
    local res, msg = http.request(opts)
    if res then
      last = mismatch(p, res)
      if last == nil then return { passed = true, attempts = attempt } end
    else
      last = "no answer: " .. msg
    end
    if attempt <= p.retries and not sys.sleep(p.retry_delay) then break end
  end
  return { passed = false, got = last }
end

function M.plan(p, cur)
  if cur.passed then return {} end
  local tries = p.retries > 0 and (" (after %d attempts, %gs apart)"):format(p.retries + 1, p.retry_delay) or ""
  errors.converge(("%s %s: wanted %s; %s%s"):format(p.method, p.url, wanted(p), cur.got, tries),
    { assumable = true })
end

function M.apply()
  -- Never called: plan is {} or raises.
end

return M
