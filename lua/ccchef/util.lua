-- ccchef.util: small helpers shared by the Lua layer (strings, paths, modes,
-- name suggestions, serialising plain data).
local M = {}

function M.is_absolute(path)
  return type(path) == "string" and path:sub(1, 1) == "/"
end

function M.dirname(path)
  local d = path:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  if d == "" then return "/" end
  return d
end

function M.basename(path)
  return path:match("([^/]*)/*$")
end

function M.join(a, b)
  if b:sub(1, 1) == "/" then return b end
  if a:sub(-1) == "/" then return a .. b end
  return a .. "/" .. b
end

-- "0644" / "644" / "2755" -> integer, or nil
function M.parse_mode(s)
  if type(s) ~= "string" or not s:match("^[0-7][0-7][0-7][0-7]?$") then return nil end
  return tonumber(s, 8)
end

function M.format_mode(m)
  return string.format("%04o", m)
end

-- Single-quote a string for /bin/sh.
function M.shell_quote(s)
  if s:match("^[%w%%+,./:=@_-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function levenshtein(a, b)
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local prev = {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    local cur = { [0] = i }
    local ca = a:byte(i)
    for j = 1, lb do
      local cost = (ca == b:byte(j)) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[lb]
end

-- The candidate closest to name, when close enough to be a plausible typo.
function M.closest(name, candidates)
  local best, best_d
  for _, c in ipairs(candidates) do
    local d = levenshtein(name, c)
    if best_d == nil or d < best_d or (d == best_d and c < best) then
      best, best_d = c, d
    end
  end
  if best and best_d <= math.max(2, #name // 3) then return best end
  return nil
end

-- " (did you mean 'x'?)" or ""
function M.suggest(name, candidates)
  local c = M.closest(name, candidates)
  return c and string.format(" (did you mean '%s'?)", c) or ""
end

function M.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- Plain data (strings, numbers, booleans, tables of them) as a Lua literal,
-- read back with M.deserialize. Used for the state ccchef keeps on the node.
function M.serialize(v, indent)
  indent = indent or ""
  local t = type(v)
  if t == "string" then return string.format("%q", v) end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
  if t ~= "table" then error("cannot serialize a " .. t) end
  local parts = {}
  local inner = indent .. "  "
  for _, k in ipairs(M.sorted_keys(v)) do
    local key = type(k) == "string" and k:match("^[%a_][%w_]*$") and k
      or "[" .. M.serialize(k) .. "]"
    parts[#parts + 1] = inner .. key .. " = " .. M.serialize(v[k], inner)
  end
  if #parts == 0 then return "{}" end
  return "{\n" .. table.concat(parts, ",\n") .. ",\n" .. indent .. "}"
end

function M.deserialize(text, name)
  local chunk, err = load("return " .. text, name or "=data", "t", {})
  if not chunk then return nil, err end
  local ok, v = pcall(chunk)
  if not ok then return nil, v end
  return v
end

-- Merge src into dst as attributes merge (DESIGN.md 2.5): tables key by
-- key, anything else replaces. Returns dst.
function M.merge(dst, src)
  for k, v in pairs(src) do
    if type(v) == "table" and type(dst[k]) == "table" then
      M.merge(dst[k], v)
    elseif type(v) == "table" then
      dst[k] = M.merge({}, v)
    else
      dst[k] = v
    end
  end
  return dst
end

-- mkdir -p; returns true or nil, message
function M.mkdir_p(sys, path, mode)
  local st = sys.stat(path)
  if st then
    if st.type == "directory" then return true end
    return nil, path .. ": exists and is not a directory"
  end
  local parent = M.dirname(path)
  if parent ~= path then
    local ok, err = M.mkdir_p(sys, parent, mode)
    if not ok then return nil, err end
  end
  local ok, err, errname = sys.mkdir(path, mode or 493 --[[0755]])
  if not ok and errname ~= "EEXIST" then return nil, err end
  return true
end

return M
