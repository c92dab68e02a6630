return {
  description = "web nodes",
  run_list = { "role:base", "recipe:webapp" },
  attributes = { app = { workers = 4, port = 8080, tier = "role" } },
}
