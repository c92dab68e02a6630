-- file: a regular file with given content (or a copy of a source file),
-- mode, owner and group. Written atomically; the old content is backed up.
local errors = require("ccchef.errors")
local fileops = require("ccchef.fileops")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {
  name = "file",
  name_property = "path",
  properties = fileops.ownership_properties({
    path = { type = "path" },
    content = { type = "string" },
    source = { type = "string" },
    backup = { type = "backup" },
  }),
  actions = { "create", "delete", "create_if_missing", "touch" },
  default_action = "create",
}

function M.validate(p)
  if p.content ~= nil and p.source ~= nil then
    error("give content or source, not both", 0)
  end
end

-- source: absolute, or relative to the recipe's files/ directory, then to
-- the recipe's own directory.
local function source_path(p)
  if util.is_absolute(p.source) then return p.source end
  local dir = p.recipe_dir or "."
  -- Last, the kitchen's root (the run's working directory): a kitchen
  -- path such as "cookbooks/site/files/x" (docs/kitchen.md, "Paths").
  for _, candidate in ipairs({ dir .. "/files/" .. p.source, dir .. "/" .. p.source, p.source }) do
    if sys.stat(candidate) then return candidate end
  end
  errors.converge(string.format("source file %s not found (looked in %s/files/ and %s/)", p.source, dir, dir))
end

-- A source larger than a diff would show is never read into memory: it is
-- compared and copied by streaming (p.source_file), so a 1 GB source costs
-- no more memory than a small one.
local function wanted_content(p)
  if p.content ~= nil then return p.content end
  if p.source ~= nil then
    local path = source_path(p)
    local st = sys.stat(path)
    if st and st.type == "file" and st.size > fileops.DIFF_MAX then
      p.source_file, p.source_size = path, st.size
      return nil
    end
    local text, err = sys.read(path)
    if not text then errors.converge("cannot read source: " .. err) end
    return text
  end
  return nil
end

function M.load(p, ctx)
  p.want = wanted_content(p)
  if p.source_file then return fileops.load_copy(p.path, p.source_file) end
  return fileops.load_file(p.path, p.want, p, ctx)
end

M.plan = fileops.plan_want
M.apply = fileops.apply_want

return M
