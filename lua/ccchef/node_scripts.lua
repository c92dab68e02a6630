-- ccchef.node_scripts: the shell commands `ccchef remote` runs on a node
-- (docs/remote.md, "The runner and its bootstrap", "sudo", "Timeouts"):
-- the one command of a run (find or install the runner, then run it under
-- the node's own deadline) and the status command. POSIX sh: a node needs
-- nothing but its base tools.
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

local function sq(s) return util.shell_quote(s) end

-- The cache directory of the runner on the node, as shell.
local CACHE_DIR = [[if [ -n "${CCCHEF_CACHE_DIR:-}" ]; then d=$CCCHEF_CACHE_DIR; ]]
  .. [[elif [ "$(id -u)" = 0 ]; then d=/var/cache/ccchef; ]]
  .. [[else d=${XDG_CACHE_HOME:-$HOME/.cache}/ccchef; fi; ]]

-- --sudo: the one command the login user may run as root, installed by
-- root on the node beforehand (tools/ccchef-sudo-install; docs/remote.md,
-- "sudo"). It keeps root's runners in a root-owned directory, checks their
-- hash as root before each run, installs uploads itself, and reads
-- last-run.json for `status`.
local INSTALLER = [["${CCCHEF_SUDO_INSTALLER:-/usr/local/sbin/ccchef-sudo-install}"]]

-- The state directory the runner is told about: the inventory's, or the
-- node's $CCCHEF_STATE_DIR (sudo would drop it from the environment).
local function state_arg(spec)
  if spec.state_dir then return "--state-dir " .. sq(spec.state_dir) end
  return [[${CCCHEF_STATE_DIR:+--state-dir "$CCCHEF_STATE_DIR"}]]
end

-- The node's own deadline for the runner, in seconds from when the script
-- starts: what is left of --command-timeout, less a little so the last
-- events and the exit status still reach the controller before its own
-- deadline (docs/remote.md, "Timeouts").
local NODE_MARGIN = 0.3
-- How long after the node's deadline the controller still waits for the
-- runner's exit status (the node's stop takes up to 0.5 s, more on a
-- loaded machine) before it closes the session.
M.CONTROLLER_MARGIN = 1.5
local function node_seconds(spec)
  return string.format("%.1f", math.max(0.2, spec.deadline - sys.now() - NODE_MARGIN))
end

-- At the deadline the runner is stopped with what it runs: the runner's
-- own watchdog (ccchef-runner --deadline SECONDS, src/runner_deadline.c)
-- stops it and the commands it started, and exits 124 as timeout(1) does.
-- (It was `timeout --foreground N sh -c WRAPPER`: two more programs on
-- every run; tools/ccchef-sudo-install keeps that wrapper, as an installer
-- on a node may be older than the runner it runs.)
local function deadline_arg(spec)
  return "--deadline " .. node_seconds(spec)
end

local ARCH_CHECK = function(spec)
  return "arch=$(uname -m); if [ \"$arch\" != " .. sq(spec.arch) .. " ]; then "
    .. "echo \"ccchef-bootstrap arch $arch\"; exit 112; fi; "
end

-- Keeps the current runner and the most recent other one in the cache
-- directory $d (a node converged by two ccchef versions in turn does not
-- upload every time); older ones are removed. Names are ours: runner-HEX.
local PRUNE = [[ls -t "$d" 2>/dev/null | grep -E '^runner-[0-9a-f]{64}$' | tail -n +3 | ]]
  .. [[while read -r old; do rm -f "$d/$old"; done; ]]

-- The one command of a run. If the runner with our hash is cached (and
-- still has that hash: a damaged file is replaced, never run), it says
-- "ok" and execs it; the bundle follows on stdin. If not, it says
-- "missing", reads exactly `size` bytes of stdin (GNU head -c reads no
-- further: the controller sends the runner only after "missing"), checks
-- their hash, installs them (a temporary name until then, removed on
-- failure), prunes old runners, says "uploaded" and execs the runner on
-- the rest of stdin, the bundle. An upload costs no second command (each
-- command is a login shell on the node, the largest cost of a run).
function M.bootstrap(spec, size)
  if spec.sudo then
    return ARCH_CHECK(spec) .. "exec sudo -n -- " .. INSTALLER .. " run " .. node_seconds(spec)
      .. " " .. spec.runner_sha .. " " .. size .. " " .. state_arg(spec)
  end
  local sha = spec.runner_sha
  -- The architecture is checked only before an upload: a cached runner
  -- with our hash was uploaded here after that check (one exec less).
  local run = "exec \"$r\" " .. deadline_arg(spec) .. " " .. state_arg(spec)
  return CACHE_DIR
    .. "r=\"$d/runner-" .. sha .. "\"; "
    .. "if [ -x \"$r\" ] && echo \"" .. sha .. "  $r\" | sha256sum -c --status 2>/dev/null; then "
    .. "echo \"ccchef-bootstrap ok $r\"; " .. run .. "; fi; "
    .. ARCH_CHECK(spec) .. "echo \"ccchef-bootstrap missing $r\"; "
    .. "set -e; umask 022; mkdir -p \"$d\"; t=\"$r.tmp.$$\"; "
    .. "trap 'rm -f \"$t\"' EXIT; head -c " .. size .. " >\"$t\"; "
    .. "if ! echo \"" .. sha .. "  $t\" | sha256sum -c --status; then "
    .. "echo \"the uploaded runner does not match its sha256 (" .. sha .. ")\" >&2; exit 1; fi; "
    .. "chmod 755 \"$t\"; mv -f \"$t\" \"$r\"; trap - EXIT; " .. PRUNE
    .. "echo \"ccchef-bootstrap uploaded $r\"; " .. run
end

function M.status(spec)
  local dir = spec.state_dir and sq(spec.state_dir) or [["${CCCHEF_STATE_DIR:-}"]]
  if spec.sudo then return "exec sudo -n -- " .. INSTALLER .. " status " .. dir end
  -- $1: the state directory, if known.
  local body = [[d=$1; if [ -z "$d" ]; then if [ "$(id -u)" = 0 ]; then d=/var/lib/ccchef; ]]
    .. [[else d=${XDG_STATE_HOME:-$HOME/.local/state}/ccchef; fi; fi; ]]
    .. [[echo ccchef-status; ]]
    .. [[if [ -e "$d/last-run.json" ]; then cat "$d/last-run.json"; else echo '{"never":true}'; fi]]
  return "sh -c " .. sq(body) .. " sh " .. dir
end

return M
