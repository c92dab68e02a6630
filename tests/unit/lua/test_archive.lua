-- ccchef.archive: what pack writes, extract reads back; extract refuses
-- entries that would land outside its directory.
local archive = require("ccchef.archive")
local sys = require("ccchef.sys")

local base = os.tmpname()
os.remove(base)
assert(sys.mkdir(base, 448))
local n = 0
local function fresh_dir()
  n = n + 1
  local d = base .. "/d" .. n
  assert(sys.mkdir(d, 448))
  return d
end
local function tar_file(entries)
  local data = assert(archive.pack(entries))
  local path = base .. "/t" .. n .. ".tar"
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  return path
end

test("round trip: files, directories, modes, links inside", function()
  local long = string.rep("long-name-", 12) .. ".txt" -- over ustar's 100 bytes
  local path = tar_file({
    { path = "a", type = "directory", mode = 493 },
    { path = "a/x.txt", type = "file", mode = 416, data = "hello\n" },
    { path = "a/" .. long, type = "file", data = "" },
    { path = "a/l", type = "link", target = "x.txt" },
    { path = "top", type = "link", target = "a/../a/x.txt" },
  })
  local d = fresh_dir()
  eq(archive.extract(path, d), 5)
  eq(sys.read(d .. "/a/x.txt"), "hello\n")
  eq(sys.lstat(d .. "/a/x.txt").mode, 416)
  eq(sys.read(d .. "/a/" .. long), "")
  eq(sys.readlink(d .. "/a/l"), "x.txt")
  eq(sys.lstat(d).mode, 448, "the directory keeps its mode")
end)

local function refused(entries, why)
  local path = tar_file(entries)
  local d = fresh_dir()
  local got, err = archive.extract(path, d)
  eq(got, nil, "extract should fail")
  ok(err:find(why, 1, true), err)
  return d
end

test("refuses .. components", function()
  refused({ { path = "a/../../x", type = "file", data = "x" } }, "path with a '..' component")
  ok(not sys.lstat(base .. "/x"), "nothing written outside")
end)

test("refuses absolute paths", function()
  refused({ { path = base .. "/abs", type = "file", data = "x" } }, "absolute path")
  ok(not sys.lstat(base .. "/abs"))
end)

test("refuses links pointing out", function()
  refused({ { path = "a/l", type = "link", target = "../../etc" } }, "symbolic link pointing outside")
  refused({ { path = "l", type = "link", target = "/etc/passwd" } }, "symbolic link pointing outside")
  refused({ { path = "l", type = "link", target = "sub/../../x" } }, "symbolic link pointing outside")
end)

test("refuses writing through a link", function()
  -- A link inside that is fine by itself, then a file "through" it: libarchive's
  -- secure-symlinks check stops this even if the link's target were outside.
  local d = refused({
    { path = "l", type = "link", target = "." },
    { path = "l/x", type = "file", data = "x" },
  }, "Cannot extract through symlink")
  ok(not sys.lstat(d .. "/x"), "nothing written through the link")
end)

test("garbage is an error, not a crash", function()
  local path = base .. "/garbage.tar"
  local f = assert(io.open(path, "wb"))
  f:write(string.rep("not a tar ", 100))
  f:close()
  local got, err = archive.extract(path, fresh_dir())
  eq(got, nil)
  ok(err:find("bundle", 1, true), err)
end)

test("pack rejects bad entries", function()
  local got, err = archive.pack({ { path = "x", type = "fifo" } })
  eq(got, nil)
  ok(err:find("file, directory or link", 1, true), err)
end)

os.execute("rm -rf '" .. base .. "'")
