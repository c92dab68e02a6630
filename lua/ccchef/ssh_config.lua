-- ccchef.ssh_config: what of the ssh configuration libssh 0.10 does not
-- apply as ssh(1) does (docs/remote.md, "Jump hosts", "Host keys").
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

local function sq(s) return util.shell_quote(s) end

-- What libssh 0.10 does not do as ssh(1) does, asked of ssh(1) itself
-- (`ssh -G`, which only prints the configuration): HostKeyAlias (libssh
-- ignores it) and ProxyJump (libssh turns it into `ssh -J ...` without
-- the -F file, so a bastion named in that file is not found). Only asked
-- when a config file (or one it includes) mentions one of them: `ssh -G`
-- costs an exec.

-- The files `Include` names, as ssh(1) reads them: relative names are
-- under ~/.ssh for the user's config and /etc/ssh for the system's; a glob
-- in the last component (`*.conf`, Debian's /etc/ssh/ssh_config.d) is
-- expanded. Anything fancier (a glob in a directory part) is answered by
-- asking `ssh -G` anyway (nil).
local function included(line, base)
  local out = {}
  for word in line:gmatch("%S+") do
    local path = word:find("^/") and word or (base .. "/" .. word)
    local dir, last = path:match("^(.*)/([^/]*)$")
    if dir:find("[*?%[]") then return nil end
    if last:find("[*?%[]") then
      if last:find("%[") then return nil end
      local pat = "^" .. last:gsub("[%^%$%(%)%%%.%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".") .. "$"
      local names = sys.listdir(dir) or {}
      table.sort(names)
      for _, n in ipairs(names) do
        if n:find(pat) then out[#out + 1] = dir .. "/" .. n end
      end
    else
      out[#out + 1] = path
    end
  end
  return out
end

-- Does the ssh config (with what it includes) use HostKeyAlias or
-- ProxyJump? Only then is `ssh -G` asked (it costs an exec per node).
local function config_mentions(spec)
  local home = (sys.user(sys.geteuid()) or {}).home or ""
  -- ~ as libssh and ssh(1) read it: the passwd entry's home, not $HOME.
  local queue = spec.ssh_config and { { spec.ssh_config, home .. "/.ssh" } }
    or { { home .. "/.ssh/config", home .. "/.ssh" }, { "/etc/ssh/ssh_config", "/etc/ssh" } }
  local seen, i = {}, 1
  while queue[i] do
    local f, base = queue[i][1], queue[i][2]
    i = i + 1
    local text = not seen[f] and sys.read(f)
    seen[f] = true
    if text then
      local low = text:lower()
      if low:find("hostkeyalias", 1, true) or low:find("proxyjump", 1, true) then return true end
      for line in text:gmatch("[^\n]+") do
        local key, args = line:match("^%s*(%a+)%s*=?%s*(.-)%s*$")
        if key and key:lower() == "include" and args ~= "" then
          local files = included(args, base)
          if not files or #queue > 64 then return true end
          for _, inc in ipairs(files) do queue[#queue + 1] = { inc, base } end
        end
      end
    end
  end
  return false
end

function M.openssh_options(spec)
  if not config_mentions(spec) then return {} end
  local cmd = { "ssh", "-G" }
  if spec.ssh_config then cmd[#cmd + 1] = "-F " .. sq(spec.ssh_config) end
  if spec.port then cmd[#cmd + 1] = "-p " .. math.tointeger(spec.port) end
  if spec.user then cmd[#cmd + 1] = "-l " .. sq(spec.user) end
  cmd[#cmd + 1] = "-- " .. sq(spec.host) .. " 2>/dev/null"
  local res = require("ccchef.proc").run(table.concat(cmd, " "), { timeout = 10 })
  local out = {}
  if not res or res.status ~= 0 then return out end
  for line in res.output:gmatch("[^\n]+") do
    local k, v = line:match("^(%S+) (.*)$")
    if k == "hostkeyalias" or k == "proxyjump" then out[k] = v end
  end
  return out
end

-- ProxyJump as ssh(1) runs it: `ssh -W [%h]:%p` through the last hop,
-- with the earlier hops as -J, and the same -F file. The hops' host keys
-- follow ccchef's rule (a changed key refused; an unknown one only with
-- --accept-new-host-key), whatever the config says: -o beats the config.
function M.proxy_command(spec, jump)
  if not jump or jump == "" or jump == "none" then return nil end
  local hops = {}
  for h in jump:gmatch("[^,]+") do hops[#hops + 1] = h end
  local last = table.remove(hops)
  local cmd = { "ssh" }
  if spec.ssh_config then cmd[#cmd + 1] = "-F " .. sq(spec.ssh_config) end
  cmd[#cmd + 1] = "-o BatchMode=yes -o StrictHostKeyChecking=" .. (spec.accept_new and "accept-new" or "yes")
  if spec.connect_timeout then
    cmd[#cmd + 1] = "-o ConnectTimeout=" .. math.max(1, math.ceil(spec.connect_timeout))
  end
  if #hops > 0 then cmd[#cmd + 1] = "-J " .. sq(table.concat(hops, ",")) end
  -- A hop with a port is given as a URI, which ssh(1) parses as -J does.
  local dest = last:find(":%d+$") and ("ssh://" .. last) or last
  cmd[#cmd + 1] = "-W '[%h]:%p' -- " .. sq(dest)
  return table.concat(cmd, " ")
end

return M
