file "/tmp/x" { contnet = "typo" }
