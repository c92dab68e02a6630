-- ccchef.releases: the deploy's release history and which releases
-- keep_releases removes (the live one never; an unfinished one always),
-- on a layout written in a temporary directory.
local releases = require("ccchef.releases")
local sys = require("ccchef.sys")

local function ids(list)
  local out = {}
  for i, e in ipairs(list) do out[i] = type(e) == "table" and e.id or e end
  return table.concat(out, " ")
end

local function list_of(spec) -- "a:ok b:building c:ok"
  local out = {}
  for id, state in spec:gmatch("(%w+):(%w+)") do out[#out + 1] = { id = id, state = state, label = "" } end
  return out
end

test("prunable keeps the newest finished releases, live first", function()
  local l = list_of("a:ok b:ok c:ok d:ok")
  eq(ids(releases.prunable(l, 2, "d")), "b a")
  eq(ids(releases.prunable(l, 1, "d")), "c b a")
  eq(ids(releases.prunable(l, 5, "d")), "")
end)

test("prunable never removes the live release, even an old one", function()
  local l = list_of("a:ok b:ok c:ok")
  -- After a rollback current is b: kept, and counts toward keep.
  eq(ids(releases.prunable(l, 2, "b")), "a")
  eq(ids(releases.prunable(l, 1, "a")), "c b")
end)

test("prunable removes what an interrupted build left", function()
  local l = list_of("a:ok b:building c:ok")
  eq(ids(releases.prunable(l, 5, "c")), "b")
end)

test("with moves an entry to the end, or drops it", function()
  local l = list_of("a:ok b:ok c:ok")
  eq(ids(releases.with(l, "a", l[1])), "b c a")
  eq(ids(releases.with(l, "b")), "a c")
  eq(ids(l), "a b c") -- a copy: the list itself is unchanged
end)

test("the history file round-trips, and current is read from the link", function()
  local dir = os.tmpname()
  os.remove(dir)
  assert(sys.mkdir(dir))
  local l = list_of("abc:ok def:building")
  l[1].label = "branch main\twith a tab"
  releases.write(dir, l)
  assert(sys.mkdir(dir .. "/releases"))
  releases.switch(dir, "abc")
  local cur = releases.read(dir)
  eq(cur.exists, true)
  eq(cur.current, "abc")
  eq(ids(cur.list), "abc def")
  eq(cur.list[1].label, "branch main with a tab")
  eq(cur.list[2].state, "building")
  eq(ids(releases.finished(cur.list)), "abc")
  assert(sys.remove_tree(dir))
end)

test("release ids are names, never . or ..", function()
  eq(releases.valid_id("0123abcd"), true)
  eq(releases.valid_id("r42"), true)
  eq(releases.valid_id(".."), false)
  eq(releases.valid_id("."), false)
  eq(releases.valid_id(".hidden"), false)
end)
