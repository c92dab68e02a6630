-- base_banner: a file framed as a banner (a custom resource used by others).
return {
  properties = {
    path = { type = "path", required = true },
    text = { type = "string", required = true },
    width = { type = "integer", default = 30 },
  },
  default_action = "create",
  actions = {
    create = function(r)
      local line = string.rep("*", r.width)
      template(r.path) { source = "banner.tmpl", vars = { line = line, text = r.text } }
    end,
    delete = function(r)
      file(r.path) { action = "delete" }
    end,
  },
}
