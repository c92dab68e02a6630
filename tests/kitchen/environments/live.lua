return {
  description = "production",
  attributes = { app = { env_name = "live", workers = 16, features = { cache = true } } },
}
