-- ccchef.backup: keeps the previous content of a file before ccchef replaces
-- or deletes it, under BACKUP_DIR/<original path>.ccchef-<UTC time>, and
-- prunes to the newest `keep` copies per file.
local errors = require("ccchef.errors")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

-- Returns the backup's path, nil when there was nothing to keep, or raises
-- a converge error.
-- cur (optional) is the lstat load made: the copy is then taken from that
-- very file, or fails; it is always copied through the safe layer (never
-- through a link, streamed whatever its size).
function M.save(backup_dir, path, keep, cur)
  if keep <= 0 then return nil end
  local st = cur or sys.lstat(path)
  if not st or st.type ~= "file" then return nil end
  local dir = backup_dir .. util.dirname(path)
  local ok, merr = util.mkdir_p(sys, dir, util.mode"0700")
  if not ok then errors.converge("cannot create backup directory: " .. merr) end
  local t = sys.time()
  local stamp = os.date("!%Y%m%dT%H%M%S", math.floor(t)) .. string.format(".%06d", math.floor((t % 1) * 1e6))
  local base = util.basename(path)
  local dest = dir .. "/" .. base .. ".ccchef-" .. stamp
  local wok, werr = sys.copy(dest, path, util.mode"0600", nil, nil, false, true, st.dev, st.ino)
  if not wok then errors.converge("cannot write backup: " .. werr) end
  M.prune(dir, base, keep)
  return dest
end

function M.list(backup_dir, path)
  local dir = backup_dir .. util.dirname(path)
  local prefix = util.basename(path) .. ".ccchef-"
  local names = sys.listdir(dir) or {}
  local out = {}
  for _, n in ipairs(names) do
    if n:sub(1, #prefix) == prefix then out[#out + 1] = dir .. "/" .. n end
  end
  table.sort(out)
  return out
end

function M.prune(dir, base, keep)
  local all = M.list("", dir .. "/" .. base)
  for i = 1, #all - keep do sys.unlink(all[i]) end
end

return M
