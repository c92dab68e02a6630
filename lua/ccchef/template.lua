-- ccchef.template: the template language for config files.
--
--   {{ expr }}        the value of a Lua expression (nil is an error)
--   {% statement %}   Lua code: {% for _, s in ipairs(sites) do %} ... {% end %}
--   {# comment #}     nothing
--   {%- / -%} etc.    a dash trims the whitespace on that side of the tag,
--                     up to and including one newline
--
-- Nothing else is ever trimmed: text, blank lines and the final newline come
-- out exactly as written (Jinja's silent newline stripping broke users'
-- cron and iptables files). A template compiles once per run to a Lua
-- function whose line numbers are the template's, so errors name the
-- template file and line.
--
-- Templates run in ccchef.sandbox's template environment (read-only
-- library views, no os.exit/execute, no io, no load) and are bounded: at
-- most MAX_OUTPUT bytes of output and budget.TEMPLATE_INSTRUCTIONS VM
-- instructions per render (docs/templates.md, "Limits").
local budget = require("ccchef.budget")
local sandbox = require("ccchef.sandbox")
local sys = require("ccchef.sys")

local M = {}

-- 64 MiB: far above any config file, far below what the machine has.
-- CCCHEF_TEMPLATE_MAX_BYTES changes it.
M.MAX_OUTPUT = 64 * 1024 * 1024

function M.max_output()
  local v = tonumber(os.getenv("CCCHEF_TEMPLATE_MAX_BYTES") or "")
  if v and v >= 1 then return math.floor(v) end
  return M.MAX_OUTPUT
end

local function trim_left_ws(s)
  -- remove trailing spaces/tabs and at most one newline at the end of s
  s = s:gsub("[ \t]*$", "")
  s = s:gsub("\r?\n$", "")
  s = s:gsub("[ \t]*$", "")
  return s
end

local function trim_right_ws(s)
  s = s:gsub("^[ \t]*", "")
  s = s:gsub("^\r?\n", "")
  return s
end

-- Template source -> Lua source with the same line numbering.
function M.translate(src, name)
  local parts = {}
  local pos = 1
  local chunks = {} -- { kind, content, trim_before, trim_after, line }
  while true do
    local s, e, open = src:find("{([{%%#])", pos)
    if not s then
      chunks[#chunks + 1] = { kind = "text", content = src:sub(pos) }
      break
    end
    chunks[#chunks + 1] = { kind = "text", content = src:sub(pos, s - 1) }
    local close = ({ ["{"] = "}}", ["%"] = "%}", ["#"] = "#}" })[open]
    local cs, ce = src:find(close, e + 1, true)
    local tag_line = select(2, src:sub(1, s):gsub("\n", "")) + 1
    if not cs then
      return nil, string.format("%s:%d: unclosed '{%s' (no matching '%s')", name, tag_line, open, close)
    end
    local body = src:sub(e + 1, cs - 1)
    local trim_before, trim_after = false, false
    if body:sub(1, 1) == "-" then trim_before, body = true, body:sub(2) end
    if body:sub(-1) == "-" then trim_after, body = true, body:sub(1, -2) end
    chunks[#chunks + 1] = { kind = open, content = body, trim_before = trim_before,
      trim_after = trim_after, line = tag_line }
    pos = ce + 1
  end
  -- Apply trimming to neighbouring text chunks.
  for i, c in ipairs(chunks) do
    if c.kind ~= "text" then
      if c.trim_before and i > 1 and chunks[i - 1].kind == "text" then
        chunks[i - 1].trimmed_content = trim_left_ws(chunks[i - 1].trimmed_content or chunks[i - 1].content)
      end
      if c.trim_after and chunks[i + 1] and chunks[i + 1].kind == "text" then
        chunks[i + 1].trimmed_content = trim_right_ws(chunks[i + 1].trimmed_content or chunks[i + 1].content)
      end
    end
  end
  -- Generated code keeps every newline of the source in place: text goes in
  -- with %q (which writes a newline as backslash-newline), code verbatim,
  -- and the newlines that trimming removed are added back as plain newlines.
  parts[1] = "local _ENV, _o, _s = ...; "
  for _, c in ipairs(chunks) do
    local raw_newlines = select(2, c.content:gsub("\n", ""))
    if c.kind == "text" then
      local text = c.trimmed_content or c.content
      if text ~= "" then parts[#parts + 1] = "_o(" .. string.format("%q", text) .. ") " end
      local kept = select(2, text:gsub("\n", ""))
      parts[#parts + 1] = string.rep("\n", raw_newlines - kept)
    elseif c.kind == "{" then
      -- Check the expression alone, so the message quotes the user's text
      -- rather than the code it is wrapped in.
      local _, perr = load("return " .. c.content, "=expr", "t")
      if perr then
        return nil, string.format("%s:%d: bad expression {{%s}}: %s", name, c.line, c.content,
          (perr:gsub("^expr:%d+: ", "")))
      end
      parts[#parts + 1] = "_o(_s((" .. c.content .. "), " .. string.format("%q", c.content) .. ")) "
    elseif c.kind == "%" then
      -- The ";" ends the statement at its tag: an incomplete one ("for x in")
      -- is then reported on its own line, not on the next text's.
      parts[#parts + 1] = c.content .. " ; "
    else
      parts[#parts + 1] = string.rep("\n", raw_newlines)
    end
  end
  return table.concat(parts)
end

-- Names a template may use besides its variables.
local BASE = { "ipairs", "pairs", "next", "select", "tonumber", "tostring", "type", "error", "assert" }

local globals, string_methods
local function template_globals()
  if globals then return globals end
  globals = {}
  for _, k in ipairs(BASE) do globals[k] = _G[k] end
  local libs = sandbox.libraries()
  -- string.rep can make a string of any size in one call: it is held to
  -- the output limit before it allocates.
  local rep = libs.string.rep
  libs.string.rep = function(s, n, sep)
    if type(s) == "string" and math.type(n) == "integer" and n > 0 then
      local size = #s * n + (type(sep) == "string" and #sep * (n - 1) or 0)
      if size > M.max_output() then
        error(string.format("string.rep would make %d bytes, more than the template output limit (%d bytes)",
          size, M.max_output()), 2)
      end
    end
    return rep(s, n, sep)
  end
  for k, v in pairs(libs) do globals[k] = sandbox.readonly(v, k) end
  -- Method calls on strings (("x"):rep(n)) go through the string
  -- metatable: during a render it points at this copy, so they get the
  -- bounded rep too.
  string_methods = libs.string
  return globals
end

local function to_text(v, expr)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.14g", v)
  end
  if t == "boolean" then return tostring(v) end
  if v == nil then error(string.format("{{ %s }} is nil", expr:match("^%s*(.-)%s*$")), 2) end
  error(string.format("{{ %s }} is a %s; only strings, numbers and booleans can be inserted",
    expr:match("^%s*(.-)%s*$"), t), 2)
end

local Template = {}
Template.__index = Template

-- Compile template text. name appears in errors ("templates/x.tmpl:3: ...").
function M.compile(src, name)
  local code, err = M.translate(src, name)
  if not code then return nil, err end
  local fn, lerr = load(code, "@" .. name, "t")
  if not fn then
    -- Name what the user wrote, not the generated code.
    lerr = lerr:gsub("near ';'", "at the end of the {%% %%} tag")
      :gsub("near '_[os]'", "near the text or {{ }} that follows")
    return nil, lerr
  end
  return setmetatable({ fn = fn, name = name }, Template)
end

-- Render with vars; names not in vars (nor the template globals) are
-- errors. Returns text or nil, message. The output and the instructions
-- run are bounded; exceeding either is an error naming the template.
function Template:render(vars)
  local out, n, size = {}, 0, 0
  local max = M.max_output()
  local name = self.name
  local function emit(s)
    size = size + #s
    if size > max then
      error(string.format("template %s: output larger than %d bytes (the limit; CCCHEF_TEMPLATE_MAX_BYTES raises it)",
        name, max), 2)
    end
    n = n + 1
    out[n] = s
  end
  local g = template_globals()
  local env = setmetatable({}, {
    __index = function(_, k)
      local v = vars[k]
      if v ~= nil then return v end
      v = g[k]
      if v ~= nil then return v end
      error(string.format("undefined variable '%s'", tostring(k)), 2)
    end,
  })
  local limit = budget.budget(budget.TEMPLATE_INSTRUCTIONS)
  local smt = getmetatable("")
  local saved = smt.__index
  smt.__index = string_methods
  -- budget.pcall does not raise: the metatable is always put back.
  local ok, err = budget.pcall(limit, function(file, line)
    return string.format("%s:%s: template %s did not finish within %d instructions (an endless loop? CCCHEF_MAX_INSTRUCTIONS raises the limit)",
      file or name, tostring(line or "?"), name, limit)
  end, self.fn, env, emit, to_text)
  smt.__index = saved
  if not ok then
    -- Never tostring a table the template raised: its __tostring would
    -- run outside the budget.
    if type(err) == "number" then
      err = tostring(err)
    elseif type(err) ~= "string" then
      err = string.format("%s: the template raised an error that is a %s, not a message", name, type(err))
    end
    return nil, err
  end
  return table.concat(out)
end

-- What a resource's template sees: its vars and `node`, always (docs/
-- templates.md), whichever resource renders it.
function M.vars_with_node(vars, node)
  return setmetatable({}, { __index = function(_, k)
    if k == "node" then return node end
    return vars[k]
  end })
end

-- Template files compiled in this process (one run), by path.
local compiled = {}

-- Render the template file at path with vars and node, for resource units
-- (apache_site's source; their validate calls it at compile time, so an
-- undefined variable stops the run before anything changed). Returns the
-- text, or nil and a message naming the file and line.
function M.render_file(path, vars, node)
  local t = compiled[path]
  if not t then
    local text, err = sys.read(path)
    if not text then return nil, string.format("template %s: %s", path, tostring(err)) end
    local terr
    t, terr = M.compile(text, path)
    if not t then return nil, terr end
    compiled[path] = t
  end
  return t:render(M.vars_with_node(vars or {}, node))
end

return M
