return {
  attributes = { app = { env_name = "staging", features = { cache = true, debug = true } } },
}
