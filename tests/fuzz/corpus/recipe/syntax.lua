file "/tmp/x" {
  content = "x"
  mode = "0644" }
