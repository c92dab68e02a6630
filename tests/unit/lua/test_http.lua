-- ccchef.http and its C half ccchef.httpc: the response parser on exact
-- bytes (whole and sliced), the URL and request rules, and real requests to
-- a real socket server (tests/unit/http_server.py, which sends the exact
-- bytes of each case: chunked, trickled, truncated, never).
local http = require("ccchef.http")
local httpc = require("ccchef.httpc")
local spawn = require("ccchef.spawn")

-- The parser fed whole, a byte at a time and 7 at a time must agree.
local function parse(bytes, opts)
  opts = opts or {}
  local results = {}
  for _, step in ipairs({ 0, 1, 7 }) do
    local o = { head = opts.head, max_body = opts.max_body, step = step }
    local s, h, b = httpc.parse(bytes, o)
    results[#results + 1] = { s, h, b }
  end
  for i = 2, #results do
    eq(results[i][1], results[1][1], "status agrees across slicings")
    eq(results[i][3], results[1][3], "body/message agrees across slicings")
  end
  return table.unpack(results[1])
end

test("Content-Length body, lower-case names, repeated headers joined", function()
  local s, h, b = parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: 1\r\nx-a: 2\r\n"
    .. "Content-Length: 5\r\n\r\nhelloEXTRA")
  eq(s, 200); eq(b, "hello"); eq(h["content-type"], "text/plain"); eq(h["x-a"], "1, 2")
end)

test("chunked body with extensions and trailers, bare LF lines", function()
  local s, _, b = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
    .. "3;a=b\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n")
  eq(s, 200); eq(b, "abc0123456789")
  s, _, b = parse("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nhi\n0\n\n")
  eq(s, 200); eq(b, "hi")
end)

test("Transfer-Encoding wins over Content-Length", function()
  local s, _, b = parse("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n")
  eq(s, 200); eq(b, "x")
end)

test("no length: the body runs to the end; HEAD, 204, 304 have none", function()
  local s, _, b = parse("HTTP/1.0 200 OK\r\n\r\nall of it")
  eq(s, 200); eq(b, "all of it")
  s, _, b = parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", { head = true })
  eq(s, 200); eq(b, "")
  s, _, b = parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n")
  eq(s, 304); eq(b, "")
  s, _, b = parse("HTTP/1.1 204 No Content\r\n\r\n")
  eq(s, 204); eq(b, "")
end)

test("1xx interim responses are skipped, 101 refused", function()
  local s, h = parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\n"
    .. "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
  eq(s, 200); eq(h.link, nil, "headers of the interim response are not kept")
  local _, msg, name = parse("HTTP/1.1 101 Switching Protocols\r\n\r\n")
  eq(name, "EPROTO"); ok(msg:find("101"), msg)
end)

local function refused(bytes, want_name, want_msg, opts)
  local s, msg, name = parse(bytes, opts)
  eq(s, nil, "refused: " .. bytes:sub(1, 40))
  eq(name, want_name, "errno name for " .. bytes:sub(1, 40))
  ok(msg:find(want_msg, 1, true), msg)
end

test("malformed or ambiguous responses are refused (EPROTO)", function()
  refused("", "EPROTO", "empty response")
  refused("SSH-2.0-OpenSSH\r\n\r\n", "EPROTO", "not an HTTP/1.x status line")
  refused("HTTP/1.1 2000 OK\r\n\r\n", "EPROTO", "3 digits")
  refused("HTTP/1.1 099 Low\r\n\r\n", "EPROTO", "below 100")
  refused("HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n", "EPROTO", "folded")
  refused("HTTP/1.1 200 OK\r\nBad Name: a\r\n\r\n", "EPROTO", "malformed header")
  refused("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "EPROTO", "bare CR")
  refused("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "EPROTO", "conflicting")
  refused("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "EPROTO", "malformed Content-Length")
  refused("HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nab", "EPROTO", "malformed Content-Length")
  refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "EPROTO", "Transfer-Encoding")
  refused("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "EPROTO", "before Content-Length")
  refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "EPROTO", "chunk size")
  refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n", "EPROTO", "longer than its size")
  refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "EPROTO", "middle of the chunked")
  refused("HTTP/1.1 200 OK\r\nX: 1\r\n", "EPROTO", "middle of the headers")
end)

test("limits: body over max_body, head over 64 KiB, endless chunk line (EMSGSIZE/EPROTO)", function()
  refused("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n01234567890", "EMSGSIZE", "body limit", { max_body = 10 })
  refused("HTTP/1.1 200 OK\r\n\r\n01234567890", "EMSGSIZE", "body limit", { max_body = 10 })
  refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n012345\r\n0\r\n\r\n",
    "EMSGSIZE", "body limit", { max_body = 10 })
  refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n", "EMSGSIZE", "limit")
  refused("HTTP/1.1 200 OK\r\nX: " .. ("a"):rep(70000) .. "\r\n\r\n", "EMSGSIZE", "64 KiB")
  refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1" .. (" "):rep(5000), "EPROTO", "too long")
  local many = { "HTTP/1.1 200 OK" }
  for i = 1, 101 do many[#many + 1] = "X-" .. i .. ": v" end
  refused(table.concat(many, "\r\n") .. "\r\n\r\n", "EPROTO", "too many")
end)

test("URLs: http only, ports, IPv6, queries; https and junk refused", function()
  local u = assert(http.parse_url("http://127.0.0.1:8080/a/b?c=d#frag"))
  eq(u.host, "127.0.0.1"); eq(u.port, 8080); eq(u.path, "/a/b?c=d"); eq(u.authority, "127.0.0.1:8080")
  u = assert(http.parse_url("HTTP://example.org"))
  eq(u.port, 80); eq(u.path, "/"); eq(u.authority, "example.org")
  u = assert(http.parse_url("http://[::1]:81?x"))
  eq(u.host, "::1"); eq(u.path, "/?x"); eq(u.authority, "[::1]:81")
  for bad, why in pairs({
    ["https://example.org/"] = "https is not supported",
    ["ftp://x/"] = "only http://",
    ["example.org/x"] = "not an http:// URL",
    ["http://a b/"] = "space or a control character",
    ["http://x/\r\nHost: evil"] = "control character",
    ["http://user@x/"] = "user information",
    ["http://:80/"] = "no host",
    ["http://x:0/"] = "port must be",
    ["http://x:99999/"] = "port must be",
    ["http://x:8a/"] = "port must be",
    ["http://x%00/"] = "not a host name",
  }) do
    local r, msg = http.parse_url(bad)
    eq(r, nil, bad)
    ok(msg:find(why, 1, true), bad .. " -> " .. tostring(msg))
  end
end)

test("the request: Host, sorted headers, no smuggling through values", function()
  local req = assert(http.build({ url = "http://127.0.0.1:81/p?q", host = "example.org",
    headers = { ["X-B"] = "2", ["X-A"] = "1" } }))
  eq(req, "GET /p?q HTTP/1.1\r\nHost: example.org\r\nUser-Agent: ccchef\r\nAccept: */*\r\n"
    .. "Connection: close\r\nX-A: 1\r\nX-B: 2\r\n\r\n")
  for _, bad in ipairs({
    { url = "http://x/", method = "POST" },
    { url = "http://x/", host = "a\r\nX: y" },
    { url = "http://x/", headers = { ["X-A"] = "1\r\nX-Evil: 2" } },
    { url = "http://x/", headers = { ["Bad Name"] = "1" } },
    { url = "http://x/", headers = { Host = "other" } },
    { url = "http://x/", headers = { ["Content-Length"] = "5" } },
  }) do
    local r, msg, name = http.request(bad)
    eq(r, nil); eq(name, "EINVAL", msg)
  end
end)

-- The canned server, for the rest of the file.
local group = spawn.group()
local server = assert(group:start({ "/usr/bin/python3", os.getenv("HTTP_SERVER") }))
local first = group:next()
local port = assert(first and first.stream == "stdout" and tonumber(first.line), "server port")
local base = "http://127.0.0.1:" .. port

local function get(path, opts)
  opts = opts or {}
  opts.url = base .. path
  opts.timeout_ms = opts.timeout_ms or 5000
  return http.request(opts)
end

test("real requests: Content-Length, chunked in odd slices, until close, redirect", function()
  local r = assert(get("/cl"))
  eq(r.status, 200); eq(r.body, "hello"); eq(r.headers["x-twice"], "a, b")
  r = assert(get("/chunked")); eq(r.body, "hello world")
  r = assert(get("/slices")); eq(r.body, "hello world")
  r = assert(get("/eof")); eq(r.status, 200); eq(r.body, "until close")
  r = assert(get("/redirect"))
  eq(r.status, 301, "redirects are not followed"); eq(r.headers.location, "http://example.org/new")
  r = assert(get("/interim")); eq(r.status, 204); eq(r.headers["x-a"], "1")
  r = assert(get("/nothing")); eq(r.status, 404)
end)

test("what the server receives: method, path, Host, headers", function()
  local r = assert(get("/echo?x=1", { host = "site.example", headers = { ["X-Probe"] = "yes" } }))
  ok(r.body:find("^GET /echo%?x=1 HTTP/1.1\r\nHost: site.example\r\n"), r.body)
  ok(r.body:find("\r\nX-Probe: yes\r\n", 1, true), r.body)
  r = assert(get("/echo", { method = "HEAD" }))
  eq(r.status, 200); eq(r.body, "", "a HEAD answer has no body")
  r = assert(get("/echo"))
  ok(r.body:find("Host: 127.0.0.1:" .. port .. "\r\n", 1, true), "default Host is the URL's authority")
end)

test("failures: refused, timeout (hang and trickle), truncated, not HTTP, too big", function()
  -- Port 1 (tcpmux): nothing listens there on a test machine.
  local r, msg, name = http.request({ url = "http://127.0.0.1:1/", timeout_ms = 2000 })
  eq(r, nil); eq(name, "ECONNREFUSED", msg); ok(msg:find("127.0.0.1:1", 1, true), msg)
  r, msg, name = get("/hang", { timeout_ms = 300 })
  eq(r, nil); eq(name, "ETIMEDOUT", msg)
  r, msg, name = get("/trickle", { timeout_ms = 100 })
  eq(r, nil); eq(name, "ETIMEDOUT", msg)
  r, msg, name = get("/truncated")
  eq(r, nil); eq(name, "EPROTO"); ok(msg:find("Content-Length", 1, true), msg)
  r, msg, name = get("/garbage")
  eq(r, nil); eq(name, "EPROTO"); ok(msg:find("status line", 1, true), msg)
  r, msg, name = get("/big", { max_body = 1000 })
  eq(r, nil); eq(name, "EMSGSIZE", msg)
  r = assert(get("/big", { max_body = 4000000 })); eq(#r.body, 3000000)
  r = assert(get("/bigchunks", { max_body = 200000 })); eq(#r.body, 200000)
  r, msg, name = get("/bigchunks", { max_body = 199999 })
  eq(r, nil); eq(name, "EMSGSIZE", msg)
  r, msg, name = http.request({ url = "http://no-such-host.invalid/", timeout_ms = 2000 })
  eq(r, nil); eq(name, "EHOSTUNREACH", msg)
end)

group:kill(server, 9)
for _ in group.next, group do end
