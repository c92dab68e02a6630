-- ccchef.state: what ccchef keeps on the node between runs: the run locks
-- (one per state directory, one for the whole machine) and the journal of
-- pending notifications (the write-ahead log ccchef.notify keeps; replayed
-- by the next run). docs/architecture.md "State on the node".
local journal = require("ccchef.journal")
local json = require("ccchef.json")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

function M.default_dir()
  local env = os.getenv("CCCHEF_STATE_DIR")
  if env and env ~= "" then return env end
  if sys.geteuid() == 0 then return "/var/lib/ccchef" end
  return (os.getenv("HOME") or "/tmp") .. "/.local/state/ccchef"
end

-- The machine-wide lock: two runs with different state directories would
-- otherwise converge the same files at once. Root's is in /run (root-only,
-- emptied at boot); a user's in their runtime directory, as a user can only
-- collide with their own runs. CCCHEF_MACHINE_LOCK replaces the path, for
-- tests only (docs/cli.md): the test suite shares the machine with others.
function M.machine_lock_path()
  local env = os.getenv("CCCHEF_MACHINE_LOCK")
  if env and env ~= "" then return env end
  if sys.geteuid() == 0 then
    local run = sys.stat("/run")
    if run and run.type == "directory" then return "/run/ccchef.lock" end
    return "/var/lib/ccchef/machine.lock"
  end
  local xdg = os.getenv("XDG_RUNTIME_DIR")
  if xdg and xdg ~= "" then return xdg .. "/ccchef.lock" end
  return (os.getenv("HOME") or "/tmp") .. "/.local/state/ccchef-machine.lock"
end

-- Returns true, or nil, a message and whether another run holds it.
local function take(path, what, timeout, waited)
  local fd, err, errname, holder = sys.lock(path, timeout)
  if fd then return true end
  if errname == "EAGAIN" then
    return nil, string.format(
      "another ccchef run (PID %s) holds the %s %s; waited %g s (--lock-timeout)",
      holder ~= 0 and tostring(holder) or "unknown", what, path, waited), true
  end
  return nil, err, false
end

-- Take the machine-wide lock, then the state directory's, waiting up to
-- timeout seconds for both together. Always in that order, so two runs
-- never hold one each. The locks are descriptors the kernel drops when the
-- process ends, however it ends. Returns true (and a warning when the
-- machine-wide lock cannot be created at all, e.g. a user without a
-- writable runtime directory: the run goes on under the state directory's
-- lock alone), or nil and a message naming the holder.
function M.lock(dir, timeout)
  local ok, err = util.mkdir_p(sys, dir, 493)
  if not ok then return nil, err end
  local t0 = sys.now()
  local machine = M.machine_lock_path()
  local mdir = util.dirname(machine)
  if not sys.stat(mdir) then util.mkdir_p(sys, mdir, 493) end
  local warning
  local mok, merr, held = take(machine, "machine-wide lock", timeout, timeout)
  if not mok and held then return nil, merr end
  if not mok then
    warning = "cannot take the machine-wide lock: " .. tostring(merr) .. "; only " .. dir
      .. "/lock keeps other runs out"
  end
  local left = math.max(0, timeout - (sys.now() - t0))
  ok, err = take(dir .. "/lock", "lock", left, timeout)
  if not ok then return nil, err end
  return true, warning
end

---------------------------------------------------------------------------
-- The journal of pending notifications: one JSON object per line,
--   {"op":"queued","timing":"delayed","action":"restart","ref":"service[x]","from":"file[/y]"}
--   {"op":"fired","timing":"delayed","action":"restart","ref":"service[x]"}
-- read in order: a queued record makes its notification pending, a fired
-- one settles it. Appended (one write per batch of records, fsynced before
-- the change that queues them), so a kill leaves at most a torn last line,
-- which is ignored; any other line that does not parse is skipped with a
-- warning, and the rest is kept. A failed run rewrites it with only what is
-- still pending; a run that ends cleanly removes it.

local function journal_path(dir)
  return dir .. "/pending-notifications.journal"
end
M.pending_path = journal_path

-- What ccchef before the journal wrote (a Lua table): still read, once.
local function legacy_path(dir)
  return dir .. "/pending-notifications.lua"
end

-- The key that identifies one pending notification in the journal.
function M.key(timing, action, ref)
  return (timing == "immediately" and "! " or "") .. action .. " " .. ref
end

function M.record(op, timing, action, ref, from)
  return json.encode({ op = op, timing = timing, action = action, ref = ref, from = from }) .. "\n"
end

local function valid(rec)
  return type(rec) == "table" and (rec.op == "queued" or rec.op == "fired")
    and (rec.timing == "delayed" or rec.timing == "immediately")
    and type(rec.action) == "string" and type(rec.ref) == "string"
end

-- The pending notifications, in the order they were first queued:
-- { { timing=, action=, ref=, from= }, ... }, whether a journal exists,
-- and a list of warnings (unreadable records).
function M.load_pending(dir)
  local path = journal_path(dir)
  local list, warnings, byk = {}, {}, {}
  local text = sys.read(path)
  local exists = text ~= nil
  if text then
    local n, bad, torn = 0, 0, false
    local pos = 1
    while pos <= #text do
      local nl = text:find("\n", pos, true)
      if not nl then
        -- A kill in the middle of an append: the record never counted.
        torn = true
        break
      end
      local line = text:sub(pos, nl - 1)
      pos = nl + 1
      n = n + 1
      if line ~= "" then
        local ok, rec = pcall(json.decode, line)
        if ok and valid(rec) then
          local key = M.key(rec.timing, rec.action, rec.ref)
          if rec.op == "queued" and not byk[key] then
            local e = { timing = rec.timing, action = rec.action, ref = rec.ref,
              from = type(rec.from) == "string" and rec.from or "?" }
            byk[key] = e
            list[#list + 1] = e
          elseif rec.op == "fired" and byk[key] then
            byk[key].fired = true
            byk[key] = nil
          end
        else
          bad = bad + 1
          if bad == 1 then
            warnings[#warnings + 1] = string.format("ignoring unreadable record on line %d of %s", n, path)
          end
        end
      end
    end
    if bad > 1 then
      warnings[#warnings] = string.format("ignoring %d unreadable records in %s (first on line %s)", bad,
        path, warnings[#warnings]:match("line (%d+)"))
    end
    if torn then
      warnings[#warnings + 1] = string.format("ignoring an incomplete last record in %s (a run was killed while writing it)", path)
    end
  end
  local pending = {}
  for _, e in ipairs(list) do
    if not e.fired then pending[#pending + 1] = e end
  end
  local ltext = sys.read(legacy_path(dir))
  if ltext then
    exists = true
    local old, err = util.deserialize(ltext, "@" .. legacy_path(dir))
    if type(old) ~= "table" then
      warnings[#warnings + 1] = "ignoring unreadable " .. legacy_path(dir) .. ": " .. tostring(err)
    else
      for _, e in ipairs(old) do
        if type(e) == "table" and type(e.action) == "string" and type(e.ref) == "string" then
          pending[#pending + 1] = { timing = "delayed", action = e.action, ref = e.ref, from = tostring(e.from) }
        end
      end
    end
  end
  return pending, exists, warnings
end

-- Append records (strings from M.record); sync: durable before returning.
function M.append(dir, records, sync)
  return journal.append(journal_path(dir), table.concat(records), sync)
end

-- Replace the journal with exactly these pending notifications, or remove
-- it when there are none.
function M.save_pending(dir, list)
  if #list == 0 then return M.clear_pending(dir) end
  local ok, err = util.mkdir_p(sys, dir, 493)
  if not ok then return nil, err end
  local records = {}
  for _, n in ipairs(list) do
    records[#records + 1] = M.record("queued", n.timing or "delayed", n.action, n.ref, n.from)
  end
  ok, err = journal.replace(journal_path(dir), table.concat(records))
  if not ok then return nil, err end
  journal.remove(legacy_path(dir))
  return true
end

function M.clear_pending(dir)
  local ok, err = journal.remove(journal_path(dir))
  if not ok then return nil, err end
  return journal.remove(legacy_path(dir))
end

return M
