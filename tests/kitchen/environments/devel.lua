return {
  attributes = { app = { env_name = "devel", features = { debug = true },
    redirects = { { "/old", "/new" }, { "/docs", "/manual" } } } },
}
