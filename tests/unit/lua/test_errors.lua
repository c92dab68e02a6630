-- ccchef.errors: the one error shape. errors.classify is the message
-- handler units run under: the user's and the world's errors (tables) pass
-- as they are, anything else is a bug in ccchef (kind "internal") with the
-- traceback of where it was raised.
local errors = require("ccchef.errors")

test("an error table passes through classify unchanged", function()
  local e = errors.new("converge", "the world said no", { output = "x" })
  local good, got = xpcall(function() error(e, 0) end, errors.classify)
  eq(good, false)
  eq(got, e)
  eq(got.kind, "converge")
  eq(got.output, "x")
  eq(got.traceback, nil)
end)

test("a Lua runtime error is an internal error with its traceback", function()
  local function buggy()
    local t = nil
    return t.field
  end
  local good, got = xpcall(buggy, errors.classify)
  eq(good, false)
  ok(errors.is(got), "an error table")
  eq(got.kind, "internal")
  ok(got.message:find("attempt to index a nil value", 1, true), got.message)
  ok(got.traceback:find("stack traceback:", 1, true), got.traceback)
  -- Where it happened, not where it was caught.
  ok(got.traceback:find("test_errors.lua:20: in", 1, true), got.traceback)
end)

test("a plain error(\"...\") string is internal too; a non-string value is named", function()
  local _, got = xpcall(function() error("cannot write backup", 0) end, errors.classify)
  eq(got.kind, "internal")
  eq(got.message, "cannot write backup")
  local _, t = xpcall(function() error({ 1, 2 }) end, errors.classify)
  eq(t.kind, "internal")
  eq(t.message, "(an error value that is a table, not a message)")
end)

test("errors.converge and errors.input keep their kind and fields", function()
  local _, c = xpcall(errors.converge, errors.classify, "refused", { assumed = { "create" } })
  eq(c.kind, "converge")
  eq(c.assumed[1], "create")
  local _, i = xpcall(errors.input, errors.classify, "bad", { file = "r.lua", line = 3 })
  eq(i.kind, "input")
  eq(i.file, "r.lua")
  eq(i.line, 3)
  eq(errors.format(i), "r.lua:3: bad")
end)
