-- ccchef.bundle: what `ccchef remote` sends a node (docs/remote.md): the
-- kitchen directory found from the run list, read into ccchef.archive
-- entries, with the same rule for links as the runner's extraction.
local errors = require("ccchef.errors")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

M.abspath = require("ccchef.options").abspath

---------------------------------------------------------------------------
-- Kitchen and bundle

-- The kitchen above dir, by the same rule as `ccchef apply` (ccchef.kitchen:
-- cookbooks/, roles/, environments/ or nodes.lua), or nil.
function M.find_kitchen_up(dir)
  return require("ccchef.kitchen").find(dir)
end

-- The directory a bundle is made of: the run's root by apply's rule
-- (converge.find_root): -k, the kitchen above the first recipe or the
-- current directory, else the deepest directory holding every recipe file.
-- Returns root and whether it is a kitchen. Recipe files outside it are bad
-- input: they would not be shipped.
function M.root(opts, runlists)
  local converge = require("ccchef.converge")
  for _, rl in ipairs(runlists) do
    for _, item in ipairs(rl) do
      if converge.is_file_item(item) and not sys.realpath(M.abspath(item)) then
        errors.input("recipe file " .. item .. " does not exist")
      end
    end
  end
  local root, is_kitchen = converge.find_root(opts.kitchen, runlists)
  if not root then
    errors.input("role: and recipe: items need a kitchen (a directory with cookbooks/, roles/, environments/ or nodes.lua; -k DIR)")
  end
  for _, rl in ipairs(runlists) do
    for _, item in ipairs(rl) do
      if converge.is_file_item(item) and util.is_absolute(converge.relative_item(root, item)) then
        errors.input(string.format("recipe file %s is outside the kitchen %s", sys.realpath(M.abspath(item)), root))
      end
    end
  end
  return root, is_kitchen
end

-- The run list with its recipe files relative to root.
function M.relative_runlist(root, rl)
  local converge = require("ccchef.converge")
  local out = {}
  for i, item in ipairs(rl) do
    out[i] = converge.is_file_item(item) and converge.relative_item(root, item) or item
  end
  return out
end

-- Does a link at relative path `path` with this target stay inside the
-- tree? The same lexical rule as the runner's (src/lua_archive.c).
function M.link_inside(path, target)
  if target == "" or target:sub(1, 1) == "/" then return false end
  local depth = 0
  for _ in path:gmatch("([^/]+)/") do depth = depth + 1 end
  for part in target:gmatch("[^/]+") do
    if part == ".." then
      depth = depth - 1
      if depth < 0 then return false end
    elseif part ~= "." then
      depth = depth + 1
    end
  end
  return true
end

local SKIP = { [".git"] = true, [".hg"] = true, [".svn"] = true }
local MAX_BUNDLE = 256 * 1024 * 1024

local function under(rel, prefix)
  return rel == prefix or rel:sub(1, #prefix + 1) == prefix .. "/"
end

-- A relative path a value may name in the kitchen, seen from dir (a
-- kitchen-relative directory, or nil for the root), with "." and ".."
-- resolved; nil when it is absolute, leaves the kitchen, or is the root
-- or a dot file at the top (those would ship the whole kitchen or its
-- version-control data).
local function kitchen_relative(v, dir)
  -- Values with white space or control characters are content, not paths
  -- (checked first: most property values are content).
  if type(v) ~= "string" or v == "" or #v > 4096 or v:find("[%s%c]") or util.is_absolute(v) then return nil end
  local parts = {}
  local path = (dir and dir ~= "." and not util.is_absolute(dir)) and (dir .. "/" .. v) or v
  for part in path:gmatch("[^/]+") do
    if part == ".." then
      if #parts == 0 then return nil end
      parts[#parts] = nil
    elseif part ~= "." then
      parts[#parts + 1] = part
    end
  end
  if #parts == 0 or parts[1]:find("^%.") then return nil end
  return table.concat(parts, "/")
end

-- What one node needs from the kitchen, as kitchen-relative paths (a
-- directory stands for all below it), from the controller's compile of its
-- run list (docs/remote.md, "What goes to the node"):
--   - every cookbook a recipe of the run comes from (run list and
--     include_recipe) or whose custom resource it declares: whole;
--   - of every other cookbook, attributes/ and resources/ (apply reads the
--     default attributes and resource types of every cookbook);
--   - the roles the run list expanded, the environment it uses;
--   - a loose recipe file, with files/ and templates/ beside it;
--   - every path of the kitchen the compile named: kitchen_path(), and any
--     attribute or property value that is a relative path naming a file or
--     directory of the kitchen.
-- Not nodes.lua: the node's own entry travels in run.json.
function M.needs(root, prep, run, environment, cache)
  cache = cache or {}
  local want, seen = {}, {}
  local function add(p)
    if p and not seen[p] then
      seen[p] = true
      want[#want + 1] = p
    end
  end
  -- cache (shared by the nodes of a run): does this kitchen path exist?
  local function add_named(v, dir)
    local rel = kitchen_relative(v, dir)
    if not rel then return end
    local exists = cache["\0ex " .. rel]
    if exists == nil then
      exists = sys.lstat(rel) ~= nil
      cache["\0ex " .. rel] = exists
    end
    if exists then add(rel) end
  end
  local reached = {}
  local function recipe(path)
    if util.is_absolute(path) then
      if path:sub(1, #root + 1) ~= root .. "/" then return end
      path = path:sub(#root + 2)
    end
    local cb = path:match("^cookbooks/([^/]+)/")
    if cb then
      reached[cb] = true
    else
      add(path)
      local base = util.dirname(path)
      add(base == "." and "files" or (base .. "/files"))
      add(base == "." and "templates" or (base .. "/templates"))
    end
  end
  for _, e in ipairs(prep.entries) do recipe(e.path) end
  for path in pairs(run.included) do recipe(path) end
  for _, r in ipairs(run.collection) do
    local cdir = r.unit.cookbook_dir
    local cb = type(cdir) == "string" and cdir:match("cookbooks/([^/]+)$")
    if cb then reached[cb] = true end
    -- A property's relative path may be the kitchen's, or the recipe's
    -- (file and template sources: DIR/files/, DIR/templates/, DIR/).
    for _, v in pairs(r.props) do
      if type(v) == "string" then
        add_named(v)
        if r.dir then
          add_named(v, r.dir)
          add_named(v, r.dir .. "/files")
          add_named(v, r.dir .. "/templates")
        end
      end
    end
  end
  for _, cb in ipairs(prep.kitchen and prep.kitchen:cookbook_names() or {}) do
    if reached[cb] then
      add("cookbooks/" .. cb)
    else
      add("cookbooks/" .. cb .. "/attributes")
      add("cookbooks/" .. cb .. "/resources")
    end
  end
  for _, r in ipairs(prep.roles or {}) do add("roles/" .. r.name .. ".lua") end
  if environment then add("environments/" .. environment .. ".lua") end
  for path in pairs(run.kitchen_paths or {}) do add_named(path) end
  for _, leaf in ipairs(prep.attributes:leaves()) do add_named(leaf.value) end
  table.sort(want)
  return want
end

-- Every file, directory and link under root as ccchef.archive entries; with
-- `want` (from M.needs), only those paths and the directories above them.
-- cache (optional, shared between nodes) keeps what was read.
function M.collect(root, want, cache)
  cache = cache or {}
  local entries, total = {}, 0
  local function wanted(rel)
    if not want then return true, true end
    for _, w in ipairs(want) do
      if under(rel, w) then return true, true end
      if under(w, rel) then return true, false end
    end
    return false
  end
  -- Directory listings and file types are kept in cache too: every node
  -- of a run walks the same kitchen.
  local function walk(dir, rel)
    local names = cache["\0ls " .. dir]
    if not names then
      local err
      names, err = sys.listdir(dir)
      if not names then errors.input("cannot read the kitchen: " .. err) end
      table.sort(names)
      cache["\0ls " .. dir] = names
    end
    for _, name in ipairs(names) do
      local path, r = dir .. "/" .. name, rel == "" and name or rel .. "/" .. name
      local go, whole = wanted(r)
      if go and not SKIP[name] then
        local st = cache["\0st " .. path]
        if st == nil then
          st = sys.lstat(path) or false
          cache["\0st " .. path] = st
        end
        if st and st.type == "directory" then
          entries[#entries + 1] = { path = r, type = "directory", mode = st.mode }
          walk(path, r)
        elseif st and st.type == "file" and whole then
          local data = cache["\0data " .. r]
          if not data then
            local rerr
            data, rerr = sys.read(path)
            if not data then errors.input("cannot read " .. rerr) end
            cache["\0data " .. r] = data
          end
          total = total + #data
          if total > MAX_BUNDLE then
            errors.input(string.format("the bundle of %s is over %d MiB: is that the kitchen you meant (-k DIR)?",
              root, MAX_BUNDLE // 1048576))
          end
          entries[#entries + 1] = { path = r, type = "file", mode = st.mode, data = data }
        elseif st and st.type == "link" and whole then
          local target = sys.readlink(path) or ""
          -- The runner refuses links that leave the bundle; say so here,
          -- before any node is contacted.
          if not M.link_inside(r, target) then
            errors.input(string.format("%s/%s is a symbolic link to %s, outside the kitchen: "
              .. "the runner would refuse it (copy what it points to into the kitchen)", root, r, target))
          end
          entries[#entries + 1] = { path = r, type = "link", target = target }
        end
      end
    end
  end
  walk(root, "")
  return entries
end

return M
