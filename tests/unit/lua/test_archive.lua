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
  -- A link inside that is fine by itself, then a file "through" it: links
  -- are created last, so the file lands in a real directory l and the link
  -- then finds its name taken.
  local d = refused({
    { path = "l", type = "link", target = "." },
    { path = "l/x", type = "file", data = "x" },
  }, "given twice in the bundle")
  ok(not sys.lstat(d .. "/x"), "nothing written through the link")
end)

test("links are resolved, not counted: s -> . then s/s/s/../../..", function()
  -- Lexically inside (three down, three up), but s is the directory
  -- itself, so the target climbs three levels above it.
  local d = refused({
    { path = "s", type = "link", target = "." },
    { path = "x", type = "link", target = "s/s/s/../../.." },
  }, "resolves outside the bundle")
  -- The same with a long chain, and with the links given in the other order.
  refused({
    { path = "esc", type = "link", target = string.rep("s/", 30) .. string.rep("../", 30) .. "etc" },
    { path = "s", type = "link", target = "." },
  }, "resolves outside the bundle")
  -- A link through another link that leaves: a -> b/.., b -> ..
  refused({
    { path = "b", type = "link", target = ".." },
    { path = "a", type = "link", target = "b/x" },
  }, "symbolic link pointing outside")
  refused({
    { path = "d", type = "directory" },
    { path = "d/up", type = "link", target = ".." },
    { path = "a", type = "link", target = "d/up/d/up/d/up/../.." },
  }, "resolves outside the bundle")
end)

test("links that loop are refused", function()
  refused({
    { path = "a", type = "link", target = "b" },
    { path = "b", type = "link", target = "a" },
  }, "loops")
end)

test("links to nothing are refused; chains inside are fine", function()
  refused({ { path = "l", type = "link", target = "missing/../x" } }, "points to nothing in the bundle")
  local path = tar_file({
    { path = "d", type = "directory" },
    { path = "d/f", type = "file", data = "f\n" },
    { path = "s", type = "link", target = "." },
    { path = "l1", type = "link", target = "s/s/d" },
    { path = "l2", type = "link", target = "l1/f" },
    { path = "d/back", type = "link", target = "../l2" },
  })
  local d = fresh_dir()
  eq(archive.extract(path, d), 6)
  eq(sys.read(d .. "/d/back"), "f\n")
end)

test("names given twice are refused, never replaced", function()
  refused({
    { path = "f", type = "file", data = "one" },
    { path = "f", type = "file", data = "two" },
  }, "given twice in the bundle")
  refused({
    { path = "f", type = "file", data = "one" },
    { path = "f", type = "directory" },
  }, "given twice in the bundle")
end)

test("a read-only directory in the bundle still gets its files", function()
  local path = tar_file({
    { path = "ro", type = "directory", mode = 365 --[[0555]] },
    { path = "ro/f", type = "file", data = "x" },
  })
  local d = fresh_dir()
  eq(archive.extract(path, d), 2)
  eq(sys.read(d .. "/ro/f"), "x")
  eq(sys.lstat(d .. "/ro").mode, 365)
  sys.chmod(d .. "/ro", 493)
end)

test("crafted tars from python3's tarfile", function()
  if not os.execute("command -v python3 >/dev/null") then return end
  local py = base .. "/craft.py"
  local f = assert(io.open(py, "w"))
  f:write([[
import io, sys, tarfile
def tar(path, members):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, arg in members:
            i = tarfile.TarInfo(name)
            if kind == "file":
                i.size = len(arg); t.addfile(i, io.BytesIO(arg))
            elif kind == "sym":
                i.type = tarfile.SYMTYPE; i.linkname = arg; t.addfile(i)
            elif kind == "hard":
                i.type = tarfile.LNKTYPE; i.linkname = arg; t.addfile(i)
            elif kind == "dir":
                i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
d = sys.argv[1]
tar(d + "/dotlink.tar", [("s", "sym", "."), ("x", "sym", "s/s/s/../../../etc"), ("x/passwd", "file", b"pwned")])
tar(d + "/hardsym.tar", [("s", "sym", "/etc/passwd"), ("h", "hard", "s")])
tar(d + "/dotslash.tar", [("./a", "dir", None), ("./a/./b", "file", b"b"), (".//c", "file", b"c")])
]])
  f:close()
  assert(os.execute("python3 '" .. py .. "' '" .. base .. "'"))
  local d = fresh_dir()
  local got, err = archive.extract(base .. "/dotlink.tar", d)
  eq(got, nil)
  ok(err:find("refused", 1, true), err)
  ok(not sys.lstat(base .. "/etc"), "nothing written above the directory")
  got, err = archive.extract(base .. "/hardsym.tar", fresh_dir())
  eq(got, nil)
  ok(err:find("refused", 1, true), err)
  d = fresh_dir()
  eq(archive.extract(base .. "/dotslash.tar", d), 3)
  eq(sys.read(d .. "/a/b"), "b")
  eq(sys.read(d .. "/c"), "c")
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
  local got, err, name = archive.pack({ { path = "x", type = "fifo" } })
  eq(got, nil)
  ok(err:find("file, directory or link", 1, true), err)
  eq(name, "EINVAL")
end)

-- A field of the wrong type raises in the middle of writing: the tar
-- writer and its buffer must not leak (meson suite valgrind runs this file
-- under valgrind: vg-test_archive).
test("a bad field raises after good entries and leaks nothing", function()
  local entries = {}
  for i = 1, 50 do
    entries[i] = { path = "f" .. i, type = "file", data = string.rep("x", 4096) }
  end
  entries[51] = { path = "bad", type = "file", data = "x", mode = "rwx" }
  for _ = 1, 3 do
    local good, err = pcall(archive.pack, entries)
    ok(not good, "raises")
    ok(tostring(err):find("number expected", 1, true), err)
  end
  ok(not pcall(archive.pack, { { path = "d", type = "directory", mode = {} } }), "a table as mode")
  -- And the writer still works afterwards.
  ok(archive.pack({ { path = "ok", type = "file", data = "y" } }), "pack after a raise")
end)

os.execute("rm -rf '" .. base .. "'")
