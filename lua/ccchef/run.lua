-- ccchef.run: the record of one run, shared by the compile side
-- (ccchef.compile fills its collection) and the converge side
-- (ccchef.engine, ccchef.notify walk it). Data and the few rules about
-- it both sides need; no behaviour of either phase.
local M = {}

-- opts: why_run, state_dir, backup_dir, backups, command_timeout,
-- lock_timeout, node (facts + attributes), reporter, kitchen.
-- types: the resource types by name (ccchef.registry's).
function M.new(opts, types)
  return {
    opts = opts,
    types = types,
    node = opts.node or {},
    collection = {},
    index = {},
    included = {},
    kitchen = opts.kitchen,
  }
end

-- What a nested run (a custom resource's action) shares with the run it
-- is part of: options, context, reporter, the delayed queue and the
-- notification journal. Its own: the collection, and an index that sees
-- the enclosing runs' resources too (notifications may target them).
local SHARED = { "opts", "types", "node", "kitchen", "included", "ctx", "reporter",
  "delayed", "delayed_seen", "wal", "staging" }

-- The nested run of composite resource r, declaring relative to base
-- (its cookbook's root). ahead: the composites a change inside is part of,
-- innermost first (ccchef.notify journals their notifications too).
function M.child(parent, r, base)
  local child = {
    collection = {},
    index = setmetatable({}, { __index = parent.index }),
    current_dir = base,
    parent_ref = r.ref,
    depth = (parent.depth or 0) + 1,
    ahead = { r = r, up = parent.ahead },
  }
  for i = 1, #SHARED do
    local k = SHARED[i]
    child[k] = parent[k]
  end
  return child
end

local RANK = { ["up-to-date"] = 1, skipped = 2, ["would-update"] = 3, updated = 3, failed = 4 }

-- A resource's status over the actions of a run: the worst one seen.
function M.record(r, status)
  if r.status == nil or RANK[status] > RANK[r.status] then r.status = status end
end

return M
