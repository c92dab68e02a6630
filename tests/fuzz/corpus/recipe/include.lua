include_recipe "web::default"
file "relative/path" {}
