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
    -- A command run on the candidate (%{path}) before it goes live.
    verify = { type = "string" },
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

-- The wanted content, or nil and the path and size of a source larger
-- than a diff would show: that one is never read into memory but compared
-- and copied by streaming, so a 1 GB source costs no more memory than a
-- small one.
local function wanted_content(p)
  if p.content ~= nil then return p.content end
  if p.source ~= nil then
    local path = source_path(p)
    local st = sys.stat(path)
    if st and st.type == "file" and st.size > fileops.DIFF_MAX then
      return nil, path, st.size
    end
    local text, err = sys.read(path)
    if not text then errors.converge("cannot read source: " .. err) end
    return text
  end
  return nil
end

-- What is wanted goes with the state read (cur.want, cur.source_file),
-- never into p.
function M.load(p, ctx, action)
  local want, source_file, size = wanted_content(p)
  local cur
  if source_file then
    cur = fileops.load_copy(p.path, source_file, size)
  else
    cur = fileops.load_file(p.path, want, p, ctx)
  end
  if action ~= "delete" then fileops.verify(p, cur, ctx) end
  return cur
end

M.plan = fileops.plan_content
M.apply = fileops.apply_content

return M
