-- redirect: one Apache redirect, declared Chef style from any recipe:
--
--   redirect "/old" { to = "/new", status = 301 }
--   redirect "^/licenses/(.*)$" { to = "/l/$1", status = 302, regex = true }
--   redirect "/retired" { status = 410 }
--   redirect "/" { to = "https://new.example.org/", host = "old.example.org" }
--
-- Every redirect of a run goes into one snippet per site, in declaration
-- order (Chef's accumulator pattern; docs/kitchen.md, "Accumulators"):
-- CONF_DIR/redirects/SITE.conf, a template resource under Apache's
-- configuration, which the site's config includes with
--   IncludeOptional CONF_DIR/redirects/SITE.conf
-- SITE is the `site` property, else the attribute rewrite.site; CONF_DIR
-- is the apache2 cookbook's (/etc/apache2, or /etc/apache2-INSTANCE). A
-- changed snippet reloads the apache2 cookbook's service when the run has
-- it. The redirect resources themselves do nothing at converge time: the
-- snippet does the work, and is what the report shows as updated.
local values = apache_values

local STATUSES = { [301] = true, [302] = true, [303] = true, [307] = true, [308] = true, [410] = true }

local function escape_regex(s)
  return (s:gsub("[%.%^%$%*%+%?%(%)%[%]{}|\\]", "\\%0"))
end

-- Every value is needed when the snippet is rendered, at compile time: no
-- property can be lazy.
return {
  provides = "redirect",
  properties = {
    to = { type = "string", lazy = false, validate = values.spec(values.check_word) },
    status = { type = "integer", default = 301, lazy = false, validate = function(v)
      return STATUSES[v] == true, "status must be 301, 302, 303, 307, 308 or 410 (gone)"
    end },
    regex = { type = "boolean", default = false, lazy = false },
    host = { type = "string", lazy = false, validate = values.spec(values.check_host) },
    site = { type = "string", lazy = false, validate = function(v)
      return v:match("^[%w][%w%.%-_]*$") ~= nil, "a site name is letters, digits, '.', '-' and '_' (it names SITE.conf)"
    end },
    conf_dir = { type = "path", lazy = false, validate = values.spec(values.check_path) },
    service = { type = "string", lazy = false, validate = values.spec(values.check_word) },
  },
  default_action = "add",
  actions = {
    add = function(r) end, -- the snippet does the work (see accumulate)
  },
  accumulate = function(r)
    local from = r.name
    local ok, err = values.check_word(from, "the path")
    if not ok then error(err, 0) end
    if not r.regex and from:sub(1, 1) ~= "/" then
      error(string.format("%q must start with / (or set regex = true for a pattern)", from), 0)
    end
    if r.status == 410 and r.to then error("status 410 (gone) takes no `to`", 0) end
    if r.status ~= 410 and not r.to then
      error(string.format("a %d redirect needs to = \"/new/path\" (or a URL)", r.status), 0)
    end
    local apache2 = node.apache2 or {}
    local inst = apache2.instance
    local rewrite = node.rewrite or {}
    local site = r.site or rewrite.site or "default"
    local conf_dir = r.conf_dir or (inst and ("/etc/apache2-" .. inst) or "/etc/apache2")
    local service = r.service or (inst and ((node.init == "systemd" and "apache2@" or "apache2-") .. inst)
      or "apache2")

    local dir = conf_dir .. "/redirects"
    if not find_resource("directory", dir) then edit_resource("directory", dir, { mode = "0755" }) end
    local snippet = edit_resource("template", dir .. "/" .. site .. ".conf", {
      source = "redirect.conf.tmpl",
      vars = { site = site, redirects = {} },
      mode = "0644",
      notifies = find_resource("service", service) and { "reload", "service[" .. service .. "]" } or nil,
    })

    local rule = { from = from }
    if r.regex then
      rule.pattern = from
    else
      rule.pattern = "^" .. escape_regex(from) .. "$"
    end
    if r.status == 410 then
      rule.target, rule.flags = "-", "G"
    else
      rule.target, rule.flags = r.to, "R=" .. r.status .. ",L"
    end
    if r.host then rule.host_pattern = "^" .. escape_regex(r.host) .. "$" end
    local list = snippet.vars.redirects
    list[#list + 1] = rule
  end,
}
