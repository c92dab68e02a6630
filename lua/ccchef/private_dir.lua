-- ccchef.private_dir: fresh directories only this process can enter, for
-- the runner's extracted bundle and the controller's per-node bundles.
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

-- A new directory only we can enter. mkdir fails on an existing name, so a
-- directory someone prepared in advance is never reused.
function M.create()
  local base = os.getenv("TMPDIR")
  if not base or base == "" then base = "/tmp" end
  local last
  for _ = 1, 20 do
    local path = string.format("%s/ccchef-run.%d.%06x", base, sys.getpid(), math.random(0, 0xffffff))
    local ok, err, errname = sys.mkdir(path, util.mode"0700")
    if ok then return path end
    last = err
    if errname ~= "EEXIST" then break end
  end
  return nil, "cannot create a private directory under " .. base .. (last and (": " .. last) or "")
end

-- rm -rf by descriptors (sys.remove_tree: never through a link, never by
-- re-joining names between a check and a change); best effort.
function M.remove(path)
  sys.remove_tree(path)
end

return M
