-- The rewrite cookbook is a library: it provides the rewrite_redirects
-- resource. This recipe renders the redirects listed in the attribute
-- rewrite.redirects (empty by default) to rewrite.path.
directory(node.rewrite.path:match("^(.*)/")) { recursive = true }

rewrite_redirects "site" {
  path = node.rewrite.path,
  rules = node.rewrite.redirects,
}
