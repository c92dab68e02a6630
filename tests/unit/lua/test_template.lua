-- The template language: substitution, loops, conditionals, whitespace kept
-- exactly, explicit trimming, and errors that name the template and line.
local template = require("ccchef.template")

local function render(src, vars)
  local t, err = template.compile(src, "t.tmpl")
  if not t then return nil, err end
  return t:render(vars or {})
end

test("substitutes expressions", function()
  eq(render("port {{ port }}\n", { port = 8080 }), "port 8080\n")
  eq(render("{{ a .. b }}", { a = "x", b = "y" }), "xy")
end)

test("keeps the trailing newline and blank lines", function()
  eq(render("a\n\n\nb\n", {}), "a\n\n\nb\n")
  eq(render("no newline", {}), "no newline")
  eq(render("  indented\n\t\ttabs  \n", {}), "  indented\n\t\ttabs  \n")
end)

test("statement tags do not eat newlines unless asked", function()
  eq(render("{% if x then %}\nyes\n{% end %}\n", { x = true }), "\nyes\n\n")
  eq(render("{% if x then -%}\nyes\n{% end -%}\n", { x = true }), "yes\n")
  eq(render("{% if x then -%}\nyes\n{% end -%}\n", { x = false }), "")
end)

test("loops", function()
  local src = "{% for _, s in ipairs(sites) do -%}\n{{ s }}\n{% end -%}\n"
  eq(render(src, { sites = { "a", "b" } }), "a\nb\n")
end)

test("comments vanish", function()
  eq(render("a{# note #}b\n"), "ab\n")
end)

test("undefined variable names template and line", function()
  local out, err = render("line1\nline2 {{ missing }}\n", {})
  eq(out, nil)
  ok(err:find("t.tmpl:2: undefined variable 'missing'", 1, true), err)
end)

test("nil expression is an error", function()
  local _, err = render("\n\n{{ t.nope }}", { t = {} })
  ok(err:find("t.tmpl:3:", 1, true) and err:find("is nil", 1, true), err)
end)

test("syntax error names template and line", function()
  local t, err = template.compile("a\nb\n{% if x %}\nc\n", "bad.tmpl")
  eq(t, nil)
  ok(err:find("bad.tmpl:3:", 1, true), err)
end)

test("unclosed tag names the line", function()
  local t, err = template.compile("a\n{{ x\n", "u.tmpl")
  eq(t, nil)
  ok(err:find("u.tmpl:2: unclosed", 1, true), err)
end)

test("line numbers survive trimming", function()
  local _, err = render("{% if true then -%}\nx\n{%- end %}\n{{ nope }}\n", {})
  ok(err:find("t.tmpl:4:", 1, true), err)
end)

test("a bad expression is quoted as written", function()
  local t, err = template.compile("a\nport {{ port + }}\n", "e.tmpl")
  eq(t, nil)
  ok(err:find("e.tmpl:2: bad expression {{ port + }}: unexpected symbol", 1, true), err)
end)
