-- ccchef.state: what ccchef keeps on the node between runs: the run lock
-- and the notifications a failed run left pending (replayed next run).
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

function M.default_dir()
  local env = os.getenv("CCCHEF_STATE_DIR")
  if env and env ~= "" then return env end
  if sys.geteuid() == 0 then return "/var/lib/ccchef" end
  return (os.getenv("HOME") or "/tmp") .. "/.local/state/ccchef"
end

-- Take the run lock, waiting up to timeout seconds. Returns true, or nil
-- and a message naming the holder.
function M.lock(dir, timeout)
  local ok, err = util.mkdir_p(sys, dir, 493)
  if not ok then return nil, err end
  local path = dir .. "/lock"
  local fd, why, holder = sys.lock(path, timeout)
  if fd then return true end
  if why == "held" then
    return nil, string.format(
      "another ccchef run (PID %s) holds the lock %s; waited %g s (--lock-timeout)",
      holder ~= 0 and tostring(holder) or "unknown", path, timeout)
  end
  return nil, why
end

local function pending_path(dir)
  return dir .. "/pending-notifications.lua"
end
M.pending_path = pending_path

-- { { action=, ref=, from=, queued_at= }, ... } or {}
function M.load_pending(dir)
  local text = sys.read(pending_path(dir))
  if not text then return {} end
  local list, err = util.deserialize(text, "@" .. pending_path(dir))
  if type(list) ~= "table" then
    return {}, "ignoring unreadable " .. pending_path(dir) .. ": " .. tostring(err)
  end
  return list
end

function M.save_pending(dir, list)
  if #list == 0 then return M.clear_pending(dir) end
  local ok, err = util.mkdir_p(sys, dir, 493)
  if not ok then return nil, err end
  return sys.write(pending_path(dir), "-- ccchef: notifications a failed run left pending\n"
    .. util.serialize(list) .. "\n", 384 --[[0600]], nil, nil, true)
end

function M.clear_pending(dir)
  local ok, err, errno = sys.unlink(pending_path(dir))
  if ok or errno == 2 --[[ENOENT]] then return true end
  return nil, err
end

return M
