-- rewrite_expect: what an Apache site must answer for a path, checked
-- before the configuration the run stages goes live (docs/apache.md):
--
--   rewrite_expect "/licenses" { site = "cc", status = 301, location = "/licenses/" }
--
-- Action check (default): the expectation joins the staged set of its
-- configuration root (conf_dir); at the barrier a private Apache runs the
-- candidate (ccchef.apache_expect) and is asked; a failed expectation
-- fails with a table path / wanted / got and nothing of the set goes
-- live. It changes nothing itself: it is up to date when it holds.
-- Action check_live: the same question to the live server on 127.0.0.1.
local apache = require("ccchef.apache")
local apache_stage = require("ccchef.apache_stage")
local errors = require("ccchef.errors")
local expect = require("ccchef.apache_expect")

local M = {
  name = "rewrite_expect",
  name_property = "path",
  properties = {
    path = { type = "string" },
    status = { type = "integer", required = true,
      validate = function(v) return v >= 100 and v <= 599, "status must be an HTTP status, 100-599" end },
    location = { type = "string" },
    body = { type = "string" },
    host = { type = "string" },
    port = { type = "integer", validate = function(v) return v > 0 and v < 65536, "port must be 1-65535" end },
    site = { type = "string" },
    conf_dir = { type = "path", default = apache.DEFAULT_CONF_DIR },
  },
  actions = { "check", "check_live" },
  default_action = "check",
}

-- check waits for the staged set (no barrier); check_live asks the live
-- server, so what is staged goes live (or fails) before it.
function M.inert(r)
  for _, a in ipairs(r.actions) do
    if a == "check_live" then return false end
  end
  return true
end

function M.validate(p)
  if p.path:sub(1, 1) ~= "/" or p.path:find("[%s%c]") then
    error(string.format("path %q: a URL path starting with / (a query string may follow), no spaces", p.path), 0)
  end
  if p.host and p.host:find("[%s%c]") then error("host: one word, no spaces or control characters", 0) end
end

local function expectation(p)
  return { path = p.path, status = p.status, location = p.location, body = p.body, host = p.host,
    port = p.port, site = p.site, ref = "rewrite_expect[" .. p.name .. "]" }
end

function M.load(p, _ctx, action)
  if action == "check_live" then return { result = expect.live(expectation(p), p.conf_dir) } end
  return {}
end

function M.plan(p, cur, action)
  if action == "check_live" then
    if cur.result.ok then return {} end
    errors.converge("the live server does not answer as expected", { output = expect.table({ cur.result }) })
  end
  return { "expect " .. p.path .. ": " .. p.status .. (p.location and (" " .. p.location) or "") }
end

function M.stage(p, _cur, action, ctx)
  if action ~= "check" then return nil end
  local staged = apache_stage.claim({}, ctx, p.conf_dir, { expect = expectation(p), unchanged = true })
  if not staged then
    errors.converge(p.conf_dir .. " is not an Apache configuration (no apache2.conf): nothing to check against",
      { assumable = true })
  end
  return staged
end

function M.apply() end

return M
