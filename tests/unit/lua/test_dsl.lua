-- ccchef.dsl and ccchef.compile: the recipe language. Errors are checked
-- by their fields (kind, file, line, resource, property), not only by
-- their text: reporters and tools read the fields.
local compile = require("ccchef.compile")
local dsl = require("ccchef.dsl")
local errors = require("ccchef.errors")
local registry = require("ccchef.registry")
local Run = require("ccchef.run")
local sys = require("ccchef.sys")

local tmp = os.tmpname()
os.remove(tmp)
assert(sys.mkdir(tmp, 448))

-- Writes a recipe file and compiles it. Returns the run, or nil and the
-- error table.
local n = 0
local function compile_text(text)
  n = n + 1
  local path = string.format("%s/recipe%d.lua", tmp, n)
  assert(sys.write(path, text, 420))
  local ok, run = pcall(compile.compile, { why_run = true, reporter = { print = function() end } }, { path })
  if ok then return run, path end
  return nil, run, path
end

-- The error a recipe raises, asserted to be an input error of that file
-- with the given fields (line, resource, property: a field given as false
-- must be absent) and a message holding `says`.
local function input_error(text, fields, says)
  local run, e, path = compile_text(text)
  ok(run == nil, "the recipe should fail: " .. text)
  ok(errors.is(e), "an error table, not " .. tostring(e))
  eq(e.kind, "input", "kind")
  eq(e.file, path, "file")
  for k, want in pairs(fields or {}) do
    if want == false then want = nil end
    eq(e[k], want, k)
  end
  if says then ok(e.message:find(says, 1, true), e.message) end
  return e
end

test("a recipe's resources are collected in order, with file, line and actions", function()
  local run, path = compile_text('file "/tmp/a" { content = "x" }\n\nfile "/tmp/b" { action = "delete" }\n')
  eq(#run.collection, 2)
  local a, b = run.collection[1], run.collection[2]
  eq(a.ref, "file[/tmp/a]"); eq(a.file, path); eq(a.line, 1)
  eq(a.props.path, "/tmp/a"); eq(a.props.content, "x"); eq(a.actions[1], "create")
  eq(b.line, 3); eq(b.actions[1], "delete")
  eq(run.index["file[/tmp/b]"], b)
end)

test("an unknown property: kind, file, line, resource and property, with a suggestion", function()
  input_error('\nfile "/tmp/a" { contnet = "x" }\n',
    { line = 2, resource = "file[/tmp/a]", property = "contnet" }, "did you mean 'content'")
end)

test("a value of the wrong type names the property", function()
  input_error('file "/tmp/a" { mode = {} }\n', { line = 1, resource = "file[/tmp/a]", property = "mode" })
end)

test("a missing required property is found when the recipe has finished", function()
  input_error('template "/tmp/t" {}\n', { line = 1, resource = "template[/tmp/t]", property = "source" },
    "missing required property 'source'")
end)

test("a property needed at compile time cannot be lazy", function()
  input_error('file "/tmp/a" { action = function() return "create" end }\n',
    { line = 1, resource = "file[/tmp/a]", property = "action" }, "cannot be lazy")
end)

test("an unknown action names the action property and lists the actions", function()
  input_error('file "/tmp/a" { action = "creat" }\n', { line = 1, property = "action" }, "(actions: create")
end)

test("a unit's own check (validate) is located at the resource", function()
  input_error('file "/tmp/a" {\n  content = "x",\n  source = "y",\n}\n',
    { line = 1, resource = "file[/tmp/a]", property = false }, "content or source")
end)

test("a bad name has a location but no resource yet", function()
  input_error('local x = 1\nfile(42)\n', { line = 2, resource = false }, "file needs a name")
end)

test("two property tables after a name", function()
  input_error('file "/tmp/a" { content = "x" } { mode = "0644" }\n', { line = 1, resource = "file[/tmp/a]" },
    "already given")
end)

test("a syntax error and an undefined name carry file and line", function()
  local e = input_error('file "/tmp/a" {\n', nil, "syntax error")
  ok(e.line == 1 or e.line == 2, tostring(e.line))
  input_error('\n\nfiel "/tmp/a"\n', { line = 3 }, "did you mean 'file'")
end)

test("a sensitive resource's bad value is not quoted in the message", function()
  local e = input_error('file "/tmp/a" { sensitive = true, mode = "s3cr3t" }\n', { property = "mode" })
  ok(not e.message:find("s3cr3t", 1, true), e.message)
end)

test("a resource's handle is read-only and shows only ref, type and name", function()
  local run = Run.new({}, registry.types)
  local declare = dsl.declarator(run, registry.types.file)
  local h = declare("/tmp/h", { content = "x" })
  eq(h.ref, "file[/tmp/h]"); eq(h.type, "file"); eq(h.name, "/tmp/h")
  eq(h.props, nil); eq(h.unit, nil)
  local good, err = pcall(function() h.name = "other" end)
  ok(not good and tostring(err):find("read-only", 1, true), tostring(err))
  eq(#run.collection, 1)
  eq(run.collection[1].line, debug.getinfo(1, "l").currentline - 6)
end)

test("a declarator can declare into whichever run a function returns", function()
  local a, b = Run.new({}, registry.types), Run.new({}, registry.types)
  local into = a
  local declare = dsl.declarator(function() return into end, registry.types.file)
  declare("/tmp/1")
  into = b
  declare("/tmp/2")
  eq(#a.collection, 1); eq(#b.collection, 1)
  eq(b.collection[1].ref, "file[/tmp/2]")
end)

test("a name list (package { ... }) and its checks", function()
  local run = compile_text('package { "git", "curl" }\n')
  eq(run.collection[1].ref, "package[git, curl]")
  input_error('package { "git", 3 }\n', { line = 1 }, "item 2")
end)

test("include_recipe outside a kitchen is an input error at its line", function()
  input_error('\ninclude_recipe "x::y"\n', { line = 2 }, "needs a kitchen")
end)

test("a recipe included twice runs once", function()
  n = n + 1
  local inner = string.format("%s/inner%d.lua", tmp, n)
  assert(sys.write(inner, 'file "/tmp/inner" {}\n', 420))
  local ok_, run = pcall(compile.compile, { reporter = {} }, { inner, inner })
  ok(ok_, tostring(run))
  eq(#run.collection, 1)
end)

sys.remove_tree(tmp)
