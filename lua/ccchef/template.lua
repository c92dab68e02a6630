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
local M = {}

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

local SAFE = {
  "ipairs", "pairs", "next", "select", "tonumber", "tostring", "type", "error",
  "assert", "string", "table", "math", "utf8", "os",
}

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

-- Render with vars; names not in vars (nor the safe globals) are errors.
-- Returns text or nil, message.
function Template:render(vars)
  local out, n = {}, 0
  local function emit(s)
    n = n + 1
    out[n] = s
  end
  local env = setmetatable({}, {
    __index = function(_, k)
      local v = vars[k]
      if v ~= nil then return v end
      for _, g in ipairs(SAFE) do
        if g == k then return _G[k] end
      end
      error(string.format("undefined variable '%s'", tostring(k)), 2)
    end,
  })
  local ok, err = pcall(self.fn, env, emit, to_text)
  if not ok then return nil, tostring(err) end
  return table.concat(out)
end

return M
