return {
  description = "production",
  attributes = { app = { env_name = "live", workers = 16, tier = "environment", features = { cache = true } } },
}
