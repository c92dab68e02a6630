#!/bin/bash
# python_virtualenv and pip_requirements through `ccchef remote` (DESIGN.md
# 4, "Remote is apply"): one kitchen converged with `apply` here and with
# `remote` through a loopback sshd (node n1) under two roots gives the same
# events and exit codes and the same packages in each virtualenv: first
# converge, second run 0 updated, why-run of a pin change, the upgrade,
# requirements that do not resolve (the same failure, nothing installed).
# A virtualenv's files name their own path, so the two trees are compared
# by what pip says is installed, not byte by byte.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/sshd.sh"
. "$(dirname "$0")/lib/parity.sh"
. "$(dirname "$0")/lib/python.sh"

make_wheel ccgreet 1.0 "$T/wheels"
make_wheel ccgreet 2.0 "$T/wheels"

parity_setup
mkdir -p "$K/cookbooks/pyapp/recipes" "$LROOT" "$RROOT"
cat >"$K/cookbooks/pyapp/recipes/default.lua" <<LUA
file(node.root .. "/requirements.txt") { content = (node.pin or "ccgreet==1.0") .. "\n", backup = false }
python_virtualenv(node.root .. "/venv") { python = "$PY" }
pip_requirements(node.root .. "/requirements.txt") {
  virtualenv = node.root .. "/venv", no_index = true, find_links = "$T/wheels",
}
LUA
# The roots compared by the packages pip lists in each virtualenv.
freeze() { "$1/venv/bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null; }
PARITY_TREE=freeze

parity whyrun0 -n recipe:pyapp
assert_eq "$LCODE" 0 "why-run before anything exists"
parity_updated 3
assert_no_file "$RROOT/venv"

parity first recipe:pyapp
assert_eq "$LCODE" 0 "first converge"
parity_updated 3
assert_out "install ccgreet 1.0"
assert_eq "$(venv_has "$RROOT/venv" ccgreet)" "1.0" "ccgreet on the node"

parity second recipe:pyapp
assert_eq "$LCODE" 0 "second run"
parity_updated 0

parity whyrun --attr pin=ccgreet==2.0 -n recipe:pyapp
assert_eq "$LCODE" 0 "why-run of a pin change"
assert_eq "$(venv_has "$RROOT/venv" ccgreet)" "1.0" "ccgreet after why-run"

parity upgrade --attr pin=ccgreet==2.0 recipe:pyapp
assert_eq "$LCODE" 0 "upgrade"
parity_updated 2
assert_out "upgrade ccgreet 1.0 -> 2.0"
assert_eq "$(venv_has "$RROOT/venv" ccgreet)" "2.0" "ccgreet upgraded on the node"

parity bad --attr pin=nosuchpkg==1.0 recipe:pyapp
assert_eq "$LCODE" 1 "requirements that do not resolve"
assert_out "No matching distribution found for nosuchpkg==1.0"
assert_eq "$(venv_has "$RROOT/venv" ccgreet)" "2.0" "packages after a failed resolve"

finish
