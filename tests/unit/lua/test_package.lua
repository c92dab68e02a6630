-- package resource: Debian version syntax (policy 5.6.12) and the plan made
-- from a given dpkg/apt state (what the e2e test cannot reach cheaply).
local package = require("ccchef.resources.package")

test("valid Debian versions", function()
  for _, v in ipairs({ "1.0", "0", "1:2.3-4", "2.0~rc1-1+deb12u1", "1.2.3-4-5", "1:1:2-3",
    "10.4.2+dfsg", "3.0.11-1~deb12u2", "2.36.1-8+deb12u1" }) do
    eq(package.version_error(v), nil, v)
  end
end)

test("invalid Debian versions say why", function()
  local cases = {
    [""] = "empty", ["v1.0"] = "digit", ["1.0_beta"] = "characters",
    ["a:1.0"] = "epoch", ["1.0-"] = "revision", ["1.0:2"] = "epoch",
    ["1.0-rev_1"] = "revision", ["1.0 "] = "characters", ["-1"] = "digit",
  }
  for v, why in pairs(cases) do
    local err = package.version_error(v)
    ok(err and err:find(why, 1, true), string.format("%q: %s", v, tostring(err)))
  end
end)

local function plan(action, names, dpkg, policy, version)
  return package.plan({ package_name = names, version = version },
    { dpkg = dpkg, policy = policy or {} }, action)
end

test("install plans only what is missing", function()
  local dpkg = { a = { state = "installed", version = "1.0" }, b = { state = "config-files", version = "1.0" } }
  local policy = { b = { candidate = "2.0", versions = { ["2.0"] = true } } }
  local ch = plan("install", { "a", "b" }, dpkg, policy)
  eq(#ch, 1); eq(ch[1], "install b 2.0")
  eq(#plan("install", { "a" }, dpkg), 0)
end)

test("pins, upgrades and unknown packages", function()
  local dpkg = { a = { state = "installed", version = "2.0" } }
  local policy = { a = { candidate = "2.0", versions = { ["1.0"] = true, ["2.0"] = true } } }
  eq(plan("install", { "a" }, dpkg, policy, { "1.0" })[1], "install a 2.0 -> 1.0")
  eq(#plan("install", { "a" }, dpkg, policy, { "2.0" }), 0)
  eq(#plan("upgrade", { "a" }, dpkg, policy), 0)
  policy.a.candidate = "3.0"
  eq(plan("upgrade", { "a" }, dpkg, policy)[1], "upgrade a 2.0 -> 3.0")
  ok(plan("install", { "zz" }, {}, {})[1]:find("not in the package lists yet", 1, true))
end)

test("remove leaves config-files alone, purge does not", function()
  local dpkg = { a = { state = "config-files", version = "1.0" }, b = { state = "installed", version = "1.0" } }
  local ch = plan("remove", { "a", "b", "c" }, dpkg)
  eq(#ch, 1); eq(ch[1], "remove b 1.0")
  ch = plan("purge", { "a", "b", "c" }, dpkg)
  eq(#ch, 2); eq(ch[1], "purge a (configuration files)"); eq(ch[2], "purge b 1.0")
end)
