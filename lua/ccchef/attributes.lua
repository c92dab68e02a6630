-- ccchef.attributes: node attributes in layers with one precedence, low to
-- high (DESIGN.md 2.5):
--   cookbook defaults < role < environment < node (inventory) < command line
-- Tables merge key by key; a scalar replaces. Every leaf remembers which
-- file (and line, where known) set it, so `ccchef attrs` can answer "where
-- does this value come from?".
local util = require("ccchef.util")

local M = {}

local Set = {}
Set.__index = Set

-- A merged attribute set: values plus provenance by dotted path.
function M.new()
  return setmetatable({ values = {}, origin = {} }, Set)
end

local function is_plain_table(v)
  return type(v) == "table" and getmetatable(v) == nil
end

-- Lists replace rather than merge: merging {"a","b"} into {"x","y","z"}
-- key by key would give {"a","b","z"}, which nobody means.
local function is_list(v)
  if not is_plain_table(v) or #v == 0 then return false end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  return n == #v
end

local function copy_list(v)
  local c = {}
  for i, x in ipairs(v) do c[i] = is_plain_table(x) and copy_list(x) or x end
  for k, x in pairs(v) do if c[k] == nil then c[k] = x end end
  return c
end

local function clear_origin(self, prefix)
  for k in pairs(self.origin) do
    if k == prefix or k:sub(1, #prefix + 1) == prefix .. "." then self.origin[k] = nil end
  end
end

-- An attribute name with a control character (a NUL, a newline) would end
-- up in paths, reports and config files: refused, naming where it was set.
local function check_key(k, origin)
  if type(k) == "string" and k:find("%c") then
    local errors = require("ccchef.errors")
    local shown = string.format("%q", k):gsub("\\\n", "\\n")
    errors.input(string.format("%s: attribute name %s contains a control character",
      tostring(origin), shown))
  end
end

-- Set one value at path (list of keys) from origin. Tables merge.
function Set:set(path, value, origin)
  check_key(path[#path], origin)
  local t = self.values
  for i = 1, #path - 1 do
    local k = path[i]
    if not is_plain_table(t[k]) then
      if t[k] ~= nil then clear_origin(self, table.concat(path, ".", 1, i)) end
      t[k] = {}
    end
    t = t[k]
  end
  local key = path[#path]
  local dotted = table.concat(path, ".")
  if is_list(value) then
    clear_origin(self, dotted)
    t[key] = copy_list(value)
    self.origin[dotted] = origin
  elseif is_plain_table(value) then
    if not is_plain_table(t[key]) or is_list(t[key]) then
      if t[key] ~= nil then clear_origin(self, dotted) end
      t[key] = {}
    end
    local any = false
    for k, v in pairs(value) do
      any = true
      local sub = {}
      for i, p in ipairs(path) do sub[i] = p end
      sub[#sub + 1] = k
      self:set(sub, v, origin)
    end
    -- An empty table is still a value someone set.
    if not any and self.origin[dotted] == nil then self.origin[dotted] = origin end
  else
    if is_plain_table(t[key]) then clear_origin(self, dotted) end
    t[key] = value
    self.origin[dotted] = origin
  end
end

-- Merge a whole table (a layer) into the set.
function Set:merge(tbl, origin)
  for k, v in pairs(tbl) do self:set({ k }, v, origin) end
end

-- Leaves in order: { { path = "a.b", value = v, origin = "file:line" } }
function Set:leaves()
  local out = {}
  local function walk(t, prefix)
    local keys = util.sorted_keys(t)
    if #keys == 0 and prefix ~= "" then
      out[#out + 1] = { path = prefix, value = t, origin = self.origin[prefix] }
    end
    for _, k in ipairs(keys) do
      local v = t[k]
      local p = prefix == "" and tostring(k) or (prefix .. "." .. tostring(k))
      if is_plain_table(v) and next(v) ~= nil and not is_list(v) then
        walk(v, p)
      else
        out[#out + 1] = { path = p, value = v, origin = self.origin[p] }
      end
    end
  end
  walk(self.values, "")
  return out
end

-- An attribute file (cookbooks/X/attributes/*.lua) writes with
--     default.web.port = 80
-- `default` auto-creates intermediate tables; each assignment records the
-- file and line. Reading back (default.web.port) sees what was set so far.
function M.recorder(set, file)
  local function proxy(path)
    return setmetatable({}, {
      __index = function(_, k)
        local p = {}
        for i, x in ipairs(path) do p[i] = x end
        p[#p + 1] = k
        local t = set.values
        for _, key in ipairs(p) do
          if type(t) ~= "table" then return proxy(p) end
          t = t[key]
        end
        if t == nil or is_plain_table(t) then return proxy(p) end
        return t
      end,
      __newindex = function(_, k, v)
        local info = debug.getinfo(2, "l")
        local p = {}
        for i, x in ipairs(path) do p[i] = x end
        p[#p + 1] = k
        set:set(p, v, file .. ":" .. tostring(info and info.currentline or "?"))
      end,
    })
  end
  return proxy({})
end

return M
