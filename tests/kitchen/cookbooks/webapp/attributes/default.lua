default.app.port = 80
default.app.tier = "cookbook"
default.app.workers = 2
default.app.env_name = "none"
default.app.features = { cache = false, debug = false }
