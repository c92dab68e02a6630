include_recipe "base"
include_recipe "webapp::config"
include_recipe "base" -- a second include is a no-op, as in Chef
