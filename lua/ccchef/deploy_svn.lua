-- ccchef.deploy_svn: svn as the source of the deploy resource's releases.
-- A release is an `svn export` of the repository at one revision (no .svn
-- in it; svn:externals are exported by svn itself); its directory is
-- r<number>. A numeric revision needs no look-up at all, so a second run
-- at an unchanged revision touches no network; HEAD is one `svn info`.
local svn = require("ccchef.svn")

local M = {}

M.repository_problem = svn.repository_problem
M.revision_problem = svn.revision_problem

function M.resolve(p, ctx, as)
  local rev = p.revision
  if rev == "HEAD" then rev = svn.resolve(ctx, p.repository, "HEAD", as) end
  return { id = "r" .. rev, rev = rev, short = "r" .. rev, label = "revision " .. rev }
end

function M.export(p, ctx, as, want, dir)
  svn.export(ctx, p.repository, want.rev, dir, as)
end

return M
