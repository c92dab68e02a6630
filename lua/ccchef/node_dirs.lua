-- ccchef.node_dirs: on a node, the private directories of runs that were
-- killed (kill -9, a lost machine, a stopped runner) are removed by the
-- next run, so bundles (the kitchen, the node's attributes) do not pile up
-- in $TMPDIR.
--
-- Only ccchef's own: the exact name private_dir gives
-- (ccchef-run.PID.HEX6), a directory (not a link) that belongs to this
-- user, whose PID is no longer running (a live PID may be a concurrent
-- run, or a reused number: then the directory waits for a later run). The
-- removal is by descriptors and never follows a link, and the owner is
-- checked again on the descriptor it removes from (sys.remove_tree with an
-- owner, src/fs_tree.c).
local sys = require("ccchef.sys")

local M = {}

function M.base()
  local base = os.getenv("TMPDIR")
  if not base or base == "" then base = "/tmp" end
  return base
end

-- Returns the names removed.
function M.clean_stale(base)
  base = base or M.base()
  local removed = {}
  local me, self = sys.geteuid(), sys.getpid()
  for _, name in ipairs(sys.listdir(base) or {}) do
    local pid = name:match("^ccchef%-run%.(%d+)%.%x%x%x%x%x%x$")
    pid = pid and tonumber(pid)
    if pid and pid ~= self and not sys.lstat("/proc/" .. pid) then
      local st = sys.lstat(base .. "/" .. name)
      if st and st.type == "directory" and st.uid == me and sys.remove_tree(base .. "/" .. name, me) then
        removed[#removed + 1] = name
      end
    end
  end
  return removed
end

return M
