return {
  web1 = { host = "127.0.0.1", roles = { "web" }, environment = "live",
           attributes = { app = { port = 9090, tier = "node" } } },
  dev1 = { host = "127.0.0.1", roles = { "web" }, environment = "devel" },
}
