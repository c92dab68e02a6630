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

-- Applies a unified diff to old text, checking every context and removed
-- line against it (as patch does, without fuzz). Returns the new text.
local function apply(old, d)
  local lines = {}
  for l in old:gmatch("([^\n]*)\n") do lines[#lines + 1] = l .. "\n" end
  local tail = old:match("[^\n]+$")
  if tail then lines[#lines + 1] = tail end
  local out, pos = {}, 1 -- pos: next old line not yet copied
  local rows = {}
  for row in d:gmatch("([^\n]*)\n") do rows[#rows + 1] = row end
  assert(rows[1]:sub(1, 4) == "--- " and rows[2]:sub(1, 4) == "+++ ", "headers")
  local r = 3
  while r <= #rows do
    local as, ac, bs, bc = rows[r]:match("^@@ %-(%d+),?(%d*) %+(%d+),?(%d*) @@$")
    assert(as, "hunk header expected: " .. rows[r])
    as = tonumber(as); ac = ac == "" and 1 or tonumber(ac)
    bc = bc == "" and 1 or tonumber(bc)
    local first = ac == 0 and as + 1 or as
    assert(first >= pos, "hunks overlap or go backwards")
    for k = pos, first - 1 do out[#out + 1] = lines[k] end
    pos = first
    r = r + 1
    local seen_a, seen_b = 0, 0
    while r <= #rows and rows[r]:sub(1, 2) ~= "@@" do
      local tag, text = rows[r]:sub(1, 1), rows[r]:sub(2)
      local eol = "\n"
      if rows[r + 1] == "\\ No newline at end of file" then eol = ""; r = r + 1 end
      if tag == " " or tag == "-" then
        assert(lines[pos] == text .. eol, "old line " .. pos .. " does not match")
        pos = pos + 1; seen_a = seen_a + 1
      end
      if tag == " " or tag == "+" then
        out[#out + 1] = text .. eol; seen_b = seen_b + 1
      end
      assert(tag == " " or tag == "-" or tag == "+", "bad line tag: " .. rows[r])
      r = r + 1
    end
    assert(seen_a == ac and seen_b == bc, "hunk counts")
  end
  for k = pos, #lines do out[#out + 1] = lines[k] end
  return table.concat(out)
end

-- A random text from a small alphabet of lines (so lines repeat, which is
-- what makes diffs ambiguous), with or without a final newline.
local function random_text(rng, n, alphabet)
  local t = {}
  for i = 1, n do t[i] = "l" .. rng(alphabet) end
  local s = table.concat(t, "\n")
  if n > 0 and rng(4) > 1 then s = s .. "\n" end
  return s
end

local function random_edit(rng, text)
  local lines = {}
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  if text:sub(-1) == "\n" then lines[#lines] = nil end
  for _ = 1, rng(12) do
    local op, at = rng(3), rng(#lines + 1)
    if op == 1 and #lines > 0 then
      table.remove(lines, math.min(at, #lines))
    elseif op == 2 then
      table.insert(lines, at, "n" .. rng(6))
    elseif #lines > 0 then
      lines[math.min(at, #lines)] = "c" .. rng(6)
    end
  end
  local s = table.concat(lines, "\n")
  if #lines > 0 and rng(4) > 1 then s = s .. "\n" end
  return s
end

test("property: applying the diff to the old text gives the new text", function()
  local runs = 0
  for seed = 1, 400 do
    math.randomseed(seed)
    local rng = math.random
    local old = random_text(rng, rng(0, 60), rng(2, 12))
    local new = rng(5) == 1 and random_text(rng, rng(0, 60), rng(2, 12)) or random_edit(rng, old)
    local d = diff.unified(old, new, "o", "n", rng(0, 4))
    if old == new then
      eq(d, nil, "seed " .. seed)
    else
      local got = apply(old, d)
      eq(got, new, "seed " .. seed .. "\n" .. d)
      runs = runs + 1
    end
  end
  ok(runs > 300, "most seeds produce a diff")
end)

test("property holds when the search is cut short by its budget", function()
  -- Many repeated lines, shuffled: the shape where Myers' D is largest.
  for seed = 1, 20 do
    math.randomseed(1000 + seed)
    local a, b = {}, {}
    for i = 1, 3000 do a[i] = "x" .. math.random(40) end
    for i = 1, 3000 do b[i] = "x" .. math.random(40) end
    local old, new = table.concat(a, "\n") .. "\n", table.concat(b, "\n") .. "\n"
    eq(apply(old, diff.unified(old, new, "o", "n")), new, "seed " .. seed)
    local _, _, steps, budget = diff.changes(a, b)
    ok(steps <= budget + 3001, "steps " .. steps .. " within budget " .. budget)
  end
end)

test("a fully changed 1000-line file costs no search", function()
  local a, b = {}, {}
  for i = 1, 1000 do a[i] = "old line " .. i; b[i] = "new line " .. i end
  local del, ins, steps = diff.changes(a, b)
  eq(steps, 0)
  for i = 1, 1000 do ok(del[i] and ins[i], i) end
  local d = diff.unified(table.concat(a, "\n") .. "\n", table.concat(b, "\n") .. "\n", "o", "n")
  ok(d:find("@@ -1,1000 +1,1000 @@", 1, true), "one hunk")
end)

test("the work of a diff is bounded by the input size", function()
  -- Same lines, reversed order: every line matches something, D is 2N-2.
  local a, b = {}, {}
  for i = 1, 4000 do a[i] = "line " .. i; b[4001 - i] = "line " .. i end
  local _, _, steps, budget = diff.changes(a, b)
  eq(budget, 50 * 8000)
  ok(steps <= budget + 4001, "steps " .. steps)
  local old, new = table.concat(a, "\n") .. "\n", table.concat(b, "\n") .. "\n"
  eq(apply(old, diff.unified(old, new, "o", "n")), new)
end)

test("small edits stay minimal", function()
  local a = {}
  for i = 1, 2000 do a[i] = "line " .. (i % 50) end
  local b = { table.unpack(a) }
  table.remove(b, 700); table.insert(b, 1500, "inserted"); b[1900] = "changed"
  local del, ins = diff.changes(a, b)
  local nd, ni = 0, 0
  for _ in pairs(del) do nd = nd + 1 end
  for _ in pairs(ins) do ni = ni + 1 end
  eq(nd, 2); eq(ni, 2)
end)

test("property: below the effort bounds the diff is minimal", function()
  -- Changed lines = #a + #b - 2 * LCS, the LCS by dynamic programming.
  local function lcs(a, b)
    local prev = {}
    for j = 0, #b do prev[j] = 0 end
    for i = 1, #a do
      local cur = { [0] = 0 }
      for j = 1, #b do
        if a[i] == b[j] then cur[j] = prev[j - 1] + 1
        else cur[j] = math.max(prev[j], cur[j - 1]) end
      end
      prev = cur
    end
    return prev[#b]
  end
  for seed = 1, 300 do
    math.randomseed(5000 + seed)
    local a, b = {}, {}
    local alphabet = math.random(2, 10)
    for i = 1, math.random(0, 80) do a[i] = "l" .. math.random(alphabet) end
    for i = 1, math.random(0, 80) do b[i] = "l" .. math.random(alphabet) end
    local del, ins = diff.changes(a, b)
    local changed = 0
    for _ in pairs(del) do changed = changed + 1 end
    for _ in pairs(ins) do changed = changed + 1 end
    eq(changed, #a + #b - 2 * lcs(a, b), "seed " .. seed)
  end
end)
