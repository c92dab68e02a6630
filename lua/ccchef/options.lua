-- ccchef.options: the one command-line option parser of ccchef apply,
-- attrs, the runner's run.json and remote (docs/cli.md), the option
-- tables they share, and the one reading of `--attr KEY.PATH=VALUE` and
-- `-j FILE` into attribute layers.
local errors = require("ccchef.errors")
local json = require("ccchef.json")
local report = require("ccchef.report")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

-- name -> { key, takes_value, repeatable }
M.RUN_OPTIONS = {
  ["-n"] = { "why_run" }, ["--why-run"] = { "why_run" },
  ["--format"] = { "format", true },
  ["-l"] = { "log_level", true }, ["--log-level"] = { "log_level", true },
  ["--detailed-exitcodes"] = { "detailed_exitcodes" },
  ["--color"] = { "color" }, ["--no-color"] = { "no_color" },
}

-- What chooses the kitchen, the environment and the attributes: apply,
-- attrs and remote read these the same way.
M.KITCHEN_OPTIONS = {
  ["-k"] = { "kitchen", true }, ["--kitchen"] = { "kitchen", true },
  ["-E"] = { "environment", true }, ["--environment"] = { "environment", true },
  ["-j"] = { "json_attrs", true, true }, ["--json-attributes"] = { "json_attrs", true, true },
  ["--attr"] = { "attrs", true, true },
}

-- A new option table from several.
function M.combine(...)
  local out = {}
  for _, t in ipairs({ ... }) do
    for k, v in pairs(t) do out[k] = v end
  end
  return out
end

function M.usage_error(msg)
  errors.input(msg .. " (see 'ccchef help')")
end

function M.parse(args, first, spec)
  local opts, rest = {}, {}
  local i = first
  while i <= #args do
    local a = args[i]
    local name, inline = a:match("^(%-%-[^=]+)=(.*)$")
    name = name or a
    local o = spec[name]
    if a == "--" then
      for j = i + 1, #args do rest[#rest + 1] = args[j] end
      break
    elseif o then
      if o[2] then
        local v = inline
        if v == nil then
          i = i + 1
          v = args[i]
        end
        if v == nil then M.usage_error("option " .. name .. " needs a value") end
        if o[3] then
          opts[o[1]] = opts[o[1]] or {}
          table.insert(opts[o[1]], v)
        else
          opts[o[1]] = v
        end
      else
        opts[o[1]] = true
      end
    elseif a:sub(1, 1) == "-" and #a > 1 then
      M.usage_error("unknown option " .. a .. util.suggest(a, util.sorted_keys(spec)))
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  return opts, rest
end

function M.number_option(opts, key, default)
  local v = opts[key]
  if v == nil then return default end
  local n = tonumber(v)
  if not n or n < 0 then M.usage_error("--" .. key:gsub("_", "-") .. " needs a non-negative number") end
  return n
end

-- --format, --log-level and the colour switches, checked once.
function M.output_options(opts)
  local format = opts.format or "human"
  if format ~= "human" and format ~= "json" then M.usage_error("--format must be human or json") end
  if opts.log_level and not report.LEVELS[opts.log_level] then
    M.usage_error("--log-level must be error, warn, info or debug")
  end
  local color = nil
  if opts.color then color = true end
  if opts.no_color then color = false end
  return format, color
end

-- Attributes from the command line

-- "a.b.c=VALUE": VALUE is JSON when it parses (8080, true, "8080", [1,2],
-- {"k":1}), otherwise the string as written (web01, ../x, 1.2.3). Returns
-- the path as a list of keys and the value, or nil and a message.
function M.parse_attr(s)
  local key, value = s:match("^([%w_%.%-]+)=(.*)$")
  if not key or key:find("^%.") or key:find("%.$") or key:find("%.%.") then
    return nil, string.format("--attr %q: expected KEY.PATH=VALUE", s)
  end
  local path = {}
  for part in key:gmatch("[^%.]+") do path[#path + 1] = part end
  local v = json.decode(value)
  if v == nil then v = value end
  return path, v
end

-- The command line's layers, in order: each -j FILE (a JSON object), then
-- each --attr. Read here, before the run enters the kitchen, so relative
-- file names are the user's. { { value=, path=?, origin= } ... }
function M.cmdline_layers(opts)
  local layers = {}
  for _, file in ipairs(opts.json_attrs or {}) do
    local text, err = sys.read(M.abspath(file))
    if not text then errors.input("-j: " .. err) end
    local value, jerr = json.decode_attributes(text)
    if value == nil then errors.input(string.format("-j %s: invalid JSON: %s", file, jerr)) end
    if type(value) ~= "table" then errors.input(string.format("-j %s: expected a JSON object", file)) end
    layers[#layers + 1] = { value = value, origin = file }
  end
  for _, a in ipairs(opts.attrs or {}) do
    local path, value = M.parse_attr(a)
    if not path then errors.input(value) end
    layers[#layers + 1] = { path = path, value = value, origin = "--attr " .. a }
  end
  return layers
end

-- A path the user gave, absolute (relative to the directory ccchef was
-- started in: read before the run enters the kitchen).
function M.abspath(p)
  if util.is_absolute(p) then return p end
  return (sys.realpath(".") or os.getenv("PWD") or ".") .. "/" .. p
end

return M
