-- ccchef.http: an HTTP/1.1 client for health checks and for tests of what
-- a site answers (http_check, rewrite expectations, rolling deploys).
--
--   local res, msg, errno_name = http.request{
--     url = "http://127.0.0.1:8080/x?y",   -- http:// only
--     method = "GET",                        -- or "HEAD"
--     host = "example.org",                  -- the Host header (default: the URL's)
--     headers = { ["X-Probe"] = "1" },
--     timeout_ms = 2000,                     -- one deadline for the whole exchange
--     max_body = 1048576,                    -- a longer body is a failure (EMSGSIZE)
--   }
--   res = { status = 301, headers = { location = "..." }, body = "..." }
--
-- One request per connection, no redirects followed (a health check wants
-- to see the 301), no TLS: https:// is refused with a message saying so.
-- The socket work and the response parser are C (src/lua_http.c,
-- src/http_parse.c); this module reads the URL and writes the request, and
-- refuses whatever would let a value smuggle a second header or request
-- (CR, LF or NUL in a header, a space in the path). A bad argument (a URL
-- that is not one, an unknown method) is nil, message, "EINVAL", like a
-- refused connection, so a caller reports both the same way.
local httpc = require("ccchef.httpc")

local M = {}

M.DEFAULT_TIMEOUT_MS = 10000
M.DEFAULT_MAX_BODY = 1024 * 1024

local function invalid(msg)
  return nil, msg, "EINVAL"
end

-- "http://host[:port][/path][?query][#fragment]" -> { host =, port =,
-- path = (with the query), authority = (host[:port] as the Host header
-- writes it) }, or nil, message. IPv6 literals in brackets.
function M.parse_url(url)
  if type(url) ~= "string" then return nil, "url must be a string" end
  if url:find("[%z\1-\32\127]") then
    return nil, ("url %q: contains a space or a control character"):format(url)
  end
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil, ("url %q: not an http:// URL"):format(url) end
  scheme = scheme:lower()
  if scheme == "https" then
    return nil, ("url %q: https is not supported (ccchef's HTTP client is for plain http "
      .. "health checks on loopback or the LAN; check the backend behind the TLS terminator)"):format(url)
  end
  if scheme ~= "http" then return nil, ("url %q: only http:// is supported"):format(url) end
  rest = rest:gsub("#.*$", "")
  local authority, path = rest:match("^([^/?]*)(.*)$")
  if path == "" then path = "/" end
  if path:sub(1, 1) == "?" then path = "/" .. path end
  if authority:find("@", 1, true) then
    return nil, ("url %q: user information in a URL is not supported"):format(url)
  end
  local host, port
  if authority:sub(1, 1) == "[" then
    host, port = authority:match("^%[([%x:.]+)%](.*)$")
    if not host then return nil, ("url %q: malformed IPv6 address"):format(url) end
  else
    host, port = authority:match("^([^:]*)(.*)$")
  end
  if host == "" then return nil, ("url %q: no host"):format(url) end
  if not host:match("^[%w.:-]+$") then
    return nil, ("url %q: host %q is not a host name or address"):format(url, host)
  end
  local n = 80
  if port ~= "" then
    local digits = port:match("^:(%d+)$")
    n = digits and tonumber(digits)
    if not n or n < 1 or n > 65535 then
      return nil, ("url %q: port must be 1-65535"):format(url)
    end
  end
  local shown = host:find(":", 1, true) and "[" .. host .. "]" or host
  return {
    host = host, port = n, path = path,
    authority = n == 80 and shown or shown .. ":" .. n,
  }
end

-- Headers ccchef writes itself: one request, no body, its own framing.
local RESERVED = { host = "the host option", connection = true,
  ["content-length"] = true, ["transfer-encoding"] = true }

local function check_header(name, value)
  if type(name) ~= "string" or not name:match("^[%w!#$%%&'*+.^_`|~-]+$") then
    return ("header name %q is not a token"):format(tostring(name))
  end
  if type(value) ~= "string" and type(value) ~= "number" then
    return ("header %s: value must be a string"):format(name)
  end
  if tostring(value):find("[%z\1-\8\10-\31\127]") then
    return ("header %s: value contains a control character (CR, LF, NUL...)"):format(name)
  end
  local r = RESERVED[name:lower()]
  if r then
    return ("header %s is written by ccchef%s"):format(name,
      type(r) == "string" and ": use " .. r or "")
  end
end

-- The request text for opts (as request takes), or nil, message.
function M.build(opts)
  local u, err = M.parse_url(opts.url)
  if not u then return nil, err end
  local method = opts.method or "GET"
  if method ~= "GET" and method ~= "HEAD" then
    return nil, ("method %q: only GET and HEAD are supported"):format(tostring(method))
  end
  local host = opts.host or u.authority
  if type(host) ~= "string" or not host:match("^[%w.:%[%]-]+$") then
    return nil, ("host %q is not a host name (with an optional :port)"):format(tostring(host))
  end
  local lines = { method .. " " .. u.path .. " HTTP/1.1", "Host: " .. host,
    "User-Agent: ccchef", "Accept: */*", "Connection: close" }
  if opts.headers ~= nil then
    if type(opts.headers) ~= "table" then return nil, "headers must be a table" end
    local names = {}
    for name in pairs(opts.headers) do names[#names + 1] = tostring(name) end
    table.sort(names) -- the same request bytes every run
    for _, name in ipairs(names) do
      local value = opts.headers[name]
      local bad = check_header(name, value)
      if bad then return nil, bad end
      lines[#lines + 1] = name .. ": " .. tostring(value)
    end
  end
  return table.concat(lines, "\r\n") .. "\r\n\r\n", u
end

local function positive_integer(v, name, default)
  if v == nil then return default end
  if math.type(v) ~= "integer" or v <= 0 then
    return nil, name .. " must be a positive integer"
  end
  return v
end

function M.request(opts)
  if type(opts) ~= "table" then return invalid("http.request takes a table of options") end
  local req, u = M.build(opts)
  if not req then return invalid(u) end
  local timeout, terr = positive_integer(opts.timeout_ms, "timeout_ms", M.DEFAULT_TIMEOUT_MS)
  if not timeout then return invalid(terr) end
  local max_body, merr = positive_integer(opts.max_body, "max_body", M.DEFAULT_MAX_BODY)
  if not max_body then return invalid(merr) end
  local status, headers, body = httpc.request(u.host, u.port, req,
    { timeout_ms = timeout, max_body = max_body, head = opts.method == "HEAD" })
  if not status then return nil, headers, body end
  return { status = status, headers = headers, body = body }
end

return M
