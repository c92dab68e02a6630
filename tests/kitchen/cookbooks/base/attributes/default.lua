default.base.root = "/tmp/ccchef-kitchen-unset"
default.base.motd = "Welcome"
default.base.admins = { "alice" }
