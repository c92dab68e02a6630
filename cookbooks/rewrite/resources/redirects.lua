-- rewrite_redirects: redirects written as data, rendered as an Apache
-- mod_rewrite snippet. Each rule is { FROM, TO, STATUS } or a table with
-- named fields:
--
--   rewrite_redirects "legacy" {
--     path = "/etc/apache2/conf-available/legacy-redirects.conf",
--     rules = {
--       { "/choose", "/choose/", 301 },                 -- exact path
--       { from = "^/licenses/(.*)$", to = "/l/$1", status = 302, regex = true },
--       { "/old-page", nil, 410 },                      -- gone
--       { "/about", "/about.html", "internal" },        -- served, not redirected
--       { "/", "https://new.example.org/", 301, host = "old.example.org" },
--     },
--   }
--
-- FROM is a literal URL path unless regex = true (then a PCRE pattern, as
-- Apache takes it). Literal paths match with or without a trailing slash
-- when trailing_slash = "optional". Rules keep their order: in mod_rewrite
-- the first matching rule with [L] wins.
local STATUSES = { [301] = true, [302] = true, [303] = true, [307] = true, [308] = true, [410] = true }

local function escape_regex(s)
  return (s:gsub("[%.%^%$%*%+%?%(%)%[%]{}|\\]", "\\%0"))
end

local function normalise(rule, i)
  if type(rule) ~= "table" then
    error(string.format("rule %d: expected { FROM, TO, STATUS } or a table with from/to/status, got %s", i, type(rule)), 0)
  end
  local r = {
    from = rule.from or rule[1],
    to = rule.to or rule[2],
    status = rule.status or rule[3] or 301,
    regex = rule.regex or false,
    host = rule.host,
    trailing_slash = rule.trailing_slash,
  }
  if type(r.from) ~= "string" or r.from == "" then
    error(string.format("rule %d: FROM must be a non-empty string", i), 0)
  end
  if r.status == "internal" then
    if type(r.to) ~= "string" then error(string.format("rule %d: an internal rewrite needs TO", i), 0) end
  elseif not STATUSES[r.status] then
    error(string.format("rule %d (%s): status must be 301, 302, 303, 307, 308, 410 or \"internal\", got %s",
      i, r.from, tostring(r.status)), 0)
  elseif r.status ~= 410 and type(r.to) ~= "string" then
    error(string.format("rule %d (%s): a %d redirect needs a target", i, r.from, r.status), 0)
  end
  if r.regex then
    r.pattern = r.from
  else
    if r.from:sub(1, 1) ~= "/" then
      error(string.format("rule %d: literal path %q must start with / (or set regex = true)", i, r.from), 0)
    end
    local body = escape_regex(r.from:gsub("/$", ""))
    if r.trailing_slash == "optional" or r.from == "/" then
      r.pattern = "^" .. body .. "/?$"
    else
      r.pattern = "^" .. escape_regex(r.from) .. "$"
    end
  end
  if r.status == 410 then
    r.target, r.flags = "-", "G"
  elseif r.status == "internal" then
    r.target, r.flags = r.to, "PT,L"
  else
    r.target, r.flags = r.to, "R=" .. r.status .. ",L"
  end
  if r.host then r.host_pattern = "^" .. escape_regex(r.host) .. "$" end
  return r
end

-- Values pasted into the snippet are checked when the recipe is compiled
-- (docs/apache.md, "Values"): a newline, tab or other control character
-- would start a directive of its own, a space would split a RewriteRule
-- word, a trailing backslash would join the next line.
local function show(v)
  return (string.format("%q", v):gsub("\\\n", "\\n"))
end

local function check_word(v, what)
  if v:find("[%c%s]") then
    return false, string.format("%s %s must be one word: no spaces or control characters", what, show(v))
  end
  if v:sub(-1) == "\\" then
    return false, string.format("%s %s ends in a backslash, which would join the next line to it", what, show(v))
  end
  return true
end

local function check_rules(rules)
  for i, rule in ipairs(rules) do
    if type(rule) == "table" then
      for _, k in ipairs({ "from", "to", "host" }) do
        local v = rule[k]
        if v == nil and k ~= "host" then v = rule[k == "from" and 1 or 2] end
        if type(v) == "string" then
          local ok, err = check_word(v, string.format("rule %d %s", i, k:upper()))
          if not ok then return false, err end
        end
      end
    end
  end
  return true
end

local function check_comment(v)
  if v:find("%c") then return false, string.format("%s must be one line without control characters", show(v)) end
  if v:sub(-1) == "\\" then return false, string.format("%s ends in a backslash", show(v)) end
  return true
end

return {
  properties = {
    path = { type = "path", required = true },
    rules = { type = "table", default = {}, validate = check_rules },
    comment = { type = "string", validate = check_comment },
  },
  default_action = "create",
  actions = {
    create = function(r)
      local rules = {}
      for i, rule in ipairs(r.rules) do rules[i] = normalise(rule, i) end
      template(r.path) {
        source = "redirects.conf.tmpl",
        vars = { name = r.name, rules = rules, comment = r.comment or false },
        mode = "0644",
      }
    end,
    delete = function(r)
      file(r.path) { action = "delete" }
    end,
  },
}
