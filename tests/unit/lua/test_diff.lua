-- Unified diffs as `diff -u` writes them.
local diff = require("ccchef.diff")

test("equal is nil", function()
  eq(diff.unified("a\n", "a\n", "x", "y"), nil)
end)

test("one changed line with context", function()
  local d = diff.unified("1\n2\n3\n4\n5\n", "1\n2\nthree\n4\n5\n", "old", "new")
  eq(d, "--- old\n+++ new\n@@ -1,5 +1,5 @@\n 1\n 2\n-3\n+three\n 4\n 5\n")
end)

test("new file", function()
  eq(diff.unified("", "a\nb\n", "/dev/null", "f"), "--- /dev/null\n+++ f\n@@ -0,0 +1,2 @@\n+a\n+b\n")
end)

test("missing final newline is shown", function()
  local d = diff.unified("a\n", "a", "o", "n")
  ok(d:find("\\ No newline at end of file", 1, true), d)
end)

test("separate hunks far apart", function()
  local a, b = {}, {}
  for i = 1, 30 do a[i] = tostring(i); b[i] = tostring(i) end
  b[2] = "two"; b[28] = "twenty-eight"
  local d = diff.unified(table.concat(a, "\n") .. "\n", table.concat(b, "\n") .. "\n", "o", "n")
  local hunks = 0
  for _ in d:gmatch("@@ ") do hunks = hunks + 1 end
  eq(hunks, 2)
  ok(d:find("@@ -1,5 +1,5 @@", 1, true), d)
  ok(d:find("@@ -25,6 +25,6 @@", 1, true), d)
end)

test("insertions and deletions", function()
  local d = diff.unified("a\nb\nc\n", "a\nc\nd\n", "o", "n")
  eq(d, "--- o\n+++ n\n@@ -1,3 +1,3 @@\n a\n-b\n c\n+d\n")
end)

test("empty lines and a last line without newline", function()
  eq(diff.unified("", "x\n\ny", "o", "n"),
    "--- o\n+++ n\n@@ -0,0 +1,3 @@\n+x\n+\n+y\n\\ No newline at end of file\n")
  eq(diff.unified("one\ntwo", "", "o", "n"),
    "--- o\n+++ n\n@@ -1,2 +0,0 @@\n-one\n-two\n\\ No newline at end of file\n")
end)

test("long lines, the last without newline", function()
  -- The shape that made the old line splitting quadratic in line length.
  local line = string.rep("x", 2000)
  local text = string.rep(line .. "\n", 199) .. line
  local d = diff.unified("", text, "o", "n")
  ok(d:find("@@ -0,0 +1,200 @@", 1, true), "200 lines")
  ok(d:find("+" .. line .. "\n\\ No newline at end of file\n", 1, true), "no-eol marker")
end)
