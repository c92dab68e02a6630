return {
  description = "every machine",
  run_list = { "recipe:base" },
  attributes = { base = { motd = "Welcome (role base)" } },
}
