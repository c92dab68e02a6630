-- ccchef.bundle: what `ccchef remote` sends a node (docs/remote.md): the
-- kitchen directory found from the run list, read into ccchef.archive
-- entries, with the same rule for links as the runner's extraction.
local errors = require("ccchef.errors")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

function M.abspath(p)
  if util.is_absolute(p) then return p end
  return (sys.realpath(".") or os.getenv("PWD") or ".") .. "/" .. p
end

---------------------------------------------------------------------------
-- Kitchen and bundle

-- The kitchen above dir, by the same rule as `ccchef apply` (ccchef.kitchen:
-- cookbooks/, roles/, environments/ or nodes.lua), or nil.
function M.find_kitchen_up(dir)
  return require("ccchef.kitchen").find(dir)
end

local function is_file_item(item) return not item:find("^%a+:") end

-- The directory a bundle is made of, and the run list rewritten relative to
-- it. The kitchen (-k, or the first kitchen above the first recipe or the
-- current directory); without one, the
-- deepest directory holding every recipe file of the run list.
function M.root(opts, runlists)
  local files = {}
  for _, rl in ipairs(runlists) do
    for _, item in ipairs(rl) do
      if is_file_item(item) then
        local real = sys.realpath(M.abspath(item))
        if not real then errors.input("recipe file " .. item .. " does not exist") end
        files[#files + 1] = real
      end
    end
  end
  local root
  if opts.kitchen then
    root = sys.realpath(M.abspath(opts.kitchen))
    if not root then errors.input("kitchen " .. opts.kitchen .. " does not exist") end
  else
    root = (files[1] and M.find_kitchen_up(util.dirname(files[1])))
      or M.find_kitchen_up(sys.realpath(".") or ".")
  end
  if not root then
    if #files == 0 then
      errors.input("role: and recipe: items need a kitchen (a directory with cookbooks/, roles/, environments/ or nodes.lua; -k DIR)")
    end
    root = util.dirname(files[1])
    for _, f in ipairs(files) do
      while f:sub(1, #root + 1) ~= root .. "/" do root = util.dirname(root) end
    end
  end
  for _, f in ipairs(files) do
    if f:sub(1, #root + 1) ~= root .. "/" then
      errors.input(string.format("recipe file %s is outside the kitchen %s", f, root))
    end
  end
  return root
end

function M.relative_runlist(root, rl)
  local out = {}
  for _, item in ipairs(rl) do
    if is_file_item(item) then
      out[#out + 1] = sys.realpath(M.abspath(item)):sub(#root + 2)
    else
      out[#out + 1] = item
    end
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

-- Every file, directory and link under root as ccchef.archive entries.
function M.collect(root)
  local entries, total = {}, 0
  local function walk(dir, rel)
    local names, err = sys.listdir(dir)
    if not names then errors.input("cannot read the kitchen: " .. err) end
    table.sort(names)
    for _, name in ipairs(names) do
      if not SKIP[name] then
        local path, r = dir .. "/" .. name, rel == "" and name or rel .. "/" .. name
        local st = sys.lstat(path)
        if st and st.type == "directory" then
          entries[#entries + 1] = { path = r, type = "directory", mode = st.mode }
          walk(path, r)
        elseif st and st.type == "file" then
          local data, rerr = sys.read(path)
          if not data then errors.input("cannot read " .. rerr) end
          total = total + #data
          if total > MAX_BUNDLE then
            errors.input(string.format("the bundle of %s is over %d MiB: is that the kitchen you meant (-k DIR)?",
              root, MAX_BUNDLE // 1048576))
          end
          entries[#entries + 1] = { path = r, type = "file", mode = st.mode, data = data }
        elseif st and st.type == "link" then
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
