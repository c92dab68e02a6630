frobnicate "x" { a = 1 }
file "/tmp/y" { mode = 644 }
