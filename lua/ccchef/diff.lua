-- ccchef.diff: unified diffs of file content for why-run and change
-- reports, hunks with 3 lines of context.
--
-- The edit script comes from Myers' O(ND) algorithm in its linear-space
-- form (the "middle snake", divide and conquer), the way GNU diff and git
-- compute it, with their two bounds on the work, because a report must not
-- cost more than the converge it describes:
--   * lines that occur only in one text can never match: they are marked
--     changed up front and left out of the search (a fully rewritten file
--     costs O(N), not O(N*D));
--   * one middle-snake search gives up after TOO_EXPENSIVE edit steps and
--     splits at the furthest point it reached (GNU diff's heuristic): the
--     script stays correct, only maybe not minimal;
--   * the whole diff has a step budget proportional to the input; past it,
--     each remaining region is shown as "replace these lines".
-- Whatever the bound, applying the hunks to the old text gives the new text.
local M = {}

local MIN_TOO_EXPENSIVE = 256
local BUDGET_PER_LINE = 50
local MIN_BUDGET = 200000

local function split_lines(s)
  local lines = {}
  local rest = 1 -- where the text after the last newline starts
  for line, after in s:gmatch("([^\n]*)\n()") do
    lines[#lines + 1] = line
    rest = after
  end
  -- A last line without its newline. (Not s:match("([^\n]+)$"): unanchored,
  -- that retries at every position and backtracks over each line, which was
  -- nine tenths of the time of a first converge of small files.)
  local no_eol = false
  if rest <= #s then
    lines[#lines + 1] = s:sub(rest)
    no_eol = true
  end
  return lines, no_eol
end

-- Lines as small integers: comparing two integers costs the same whatever
-- the lines' length, and the ids tell which lines occur on both sides.
local function intern(a, b)
  local id, ia, ib = {}, {}, {}
  local in_a, in_b = {}, {}
  local next_id = 0
  for i = 1, #a do
    local k = id[a[i]]
    if not k then next_id = next_id + 1; k = next_id; id[a[i]] = k end
    ia[i] = k
    in_a[k] = true
  end
  for j = 1, #b do
    local k = id[b[j]]
    if not k then next_id = next_id + 1; k = next_id; id[b[j]] = k end
    ib[j] = k
    in_b[k] = true
  end
  return ia, ib, in_a, in_b
end

-- The search state of one diff: the two sequences, the change marks
-- (indexes of the filtered sequences) and the work done so far.
-- Coordinates follow Myers: x lines of xs consumed, y lines of ys consumed;
-- a region is xs[xoff+1 .. xlim] against ys[yoff+1 .. ylim].

-- Middle snake of a region: returns a split point (xmid, ymid) inside it
-- (compare guards against a corner), or nil when the step budget ran out.
-- A step is one diagonal visited or one line pair compared, so the budget
-- is overrun by at most one snake (fewer than the region's lines).
local function middle(st, xoff, xlim, yoff, ylim)
  local xs, ys = st.xs, st.ys
  local fd, bd = {}, {}
  local dmin, dmax = xoff - ylim, xlim - yoff
  local fmid, bmid = xoff - yoff, xlim - ylim
  local fmin, fmax, bmin, bmax = fmid, fmid, bmid, bmid
  local odd = (fmid - bmid) % 2 == 1
  fd[fmid] = xoff
  bd[bmid] = xlim
  local steps, budget = st.steps, st.budget
  local c = 0
  while true do
    c = c + 1
    -- One more edit on every diagonal of the forward search. The sentinels
    -- just outside the range make the "came from which side" test uniform.
    if fmin > dmin then fmin = fmin - 1; fd[fmin - 1] = -1 else fmin = fmin + 1 end
    if fmax < dmax then fmax = fmax + 1; fd[fmax + 1] = -1 else fmax = fmax - 1 end
    for d = fmax, fmin, -2 do
      local tlo, thi = fd[d - 1], fd[d + 1]
      local x = tlo < thi and thi or tlo + 1
      local y = x - d
      local x0 = x
      while x < xlim and y < ylim and xs[x + 1] == ys[y + 1] do x, y = x + 1, y + 1 end
      steps = steps + 1 + (x - x0)
      if steps > budget then st.steps = steps; return nil end
      fd[d] = x
      if odd and bmin <= d and d <= bmax and bd[d] <= x then
        st.steps = steps
        return x, y
      end
    end
    -- And on every diagonal of the backward search.
    if bmin > dmin then bmin = bmin - 1; bd[bmin - 1] = math.maxinteger else bmin = bmin + 1 end
    if bmax < dmax then bmax = bmax + 1; bd[bmax + 1] = math.maxinteger else bmax = bmax - 1 end
    for d = bmax, bmin, -2 do
      local tlo, thi = bd[d - 1], bd[d + 1]
      local x = tlo < thi and tlo or thi - 1
      local y = x - d
      local x0 = x
      while x > xoff and y > yoff and xs[x] == ys[y] do x, y = x - 1, y - 1 end
      steps = steps + 1 + (x0 - x)
      if steps > budget then st.steps = steps; return nil end
      bd[d] = x
      if not odd and fmin <= d and d <= fmax and x <= fd[d] then
        st.steps = steps
        return x, y
      end
    end
    st.steps = steps
    if c >= st.too_expensive then
      -- Gone well beyond the call of duty: split where one of the two
      -- searches got furthest. Both halves are diffed on their own.
      local fxy, fx = -1, nil
      for d = fmax, fmin, -2 do
        local x = math.min(fd[d], xlim)
        local y = x - d
        if y > ylim then x, y = ylim + d, ylim end
        if x + y > fxy then fxy, fx = x + y, x end
      end
      local bxy, bx = math.maxinteger, nil
      for d = bmax, bmin, -2 do
        local x = math.max(xoff, bd[d])
        local y = x - d
        if y < yoff then x, y = yoff + d, yoff end
        if x + y < bxy then bxy, bx = x + y, x end
      end
      if (xlim + ylim) - bxy < fxy - (xoff + yoff) then return fx, fxy - fx end
      return bx, bxy - bx
    end
  end
end

local function mark_all(st, xoff, xlim, yoff, ylim)
  for x = xoff + 1, xlim do st.xchanged[x] = true end
  for y = yoff + 1, ylim do st.ychanged[y] = true end
end

-- Marks the changed lines of both filtered sequences. An explicit stack of
-- regions instead of recursion: a degenerate input would recurse once per
-- edit.
local function compare(st)
  local xs, ys = st.xs, st.ys
  local stack = { { 0, #xs, 0, #ys } }
  while #stack > 0 do
    local r = table.remove(stack)
    local xoff, xlim, yoff, ylim = r[1], r[2], r[3], r[4]
    while xoff < xlim and yoff < ylim and xs[xoff + 1] == ys[yoff + 1] do
      xoff, yoff = xoff + 1, yoff + 1
    end
    while xoff < xlim and yoff < ylim and xs[xlim] == ys[ylim] do
      xlim, ylim = xlim - 1, ylim - 1
    end
    if xoff == xlim or yoff == ylim or st.steps > st.budget then
      mark_all(st, xoff, xlim, yoff, ylim)
    else
      local xmid, ymid = middle(st, xoff, xlim, yoff, ylim)
      if xmid == nil or (xmid == xoff and ymid == yoff) or (xmid == xlim and ymid == ylim) then
        -- Out of budget (or, defensively, no progress): replace the region.
        mark_all(st, xoff, xlim, yoff, ylim)
      else
        stack[#stack + 1] = { xmid, xlim, ymid, ylim }
        stack[#stack + 1] = { xoff, xmid, yoff, ymid }
      end
    end
  end
end

-- Which lines of a are deleted and which of b are inserted: two arrays of
-- booleans, and the number of search steps it took (the unit tests bound
-- it: the cost of a diff is part of its contract).
function M.changes(a, b)
  local ia, ib, in_a, in_b = intern(a, b)
  local del, ins = {}, {}
  -- Only lines present on both sides take part in the search.
  local xs, xmap, ys, ymap = {}, {}, {}, {}
  for i = 1, #ia do
    if in_b[ia[i]] then xs[#xs + 1] = ia[i]; xmap[#xs] = i else del[i] = true end
  end
  for j = 1, #ib do
    if in_a[ib[j]] then ys[#ys + 1] = ib[j]; ymap[#ys] = j else ins[j] = true end
  end
  local total = #xs + #ys
  local st = {
    xs = xs, ys = ys, xchanged = {}, ychanged = {}, steps = 0,
    too_expensive = math.max(MIN_TOO_EXPENSIVE, 2 * math.floor(math.sqrt(total))),
    budget = math.max(MIN_BUDGET, BUDGET_PER_LINE * total),
  }
  compare(st)
  for x in pairs(st.xchanged) do del[xmap[x]] = true end
  for y in pairs(st.ychanged) do ins[ymap[y]] = true end
  return del, ins, st.steps, st.budget
end

local function range(start, count)
  if count == 1 then return tostring(start) end
  if count == 0 then return (start - 1) .. ",0" end
  return start .. "," .. count
end

-- The edit script as parallel arrays: tags (" ", "-", "+"), texts, and the
-- old and new line numbers at each step. Within a changed run, deletions
-- come before insertions, as diff -u shows them.
local function edit_script(a, b, del, ins)
  local tags, texts, apos, bpos = {}, {}, {}, {}
  local i, j, n = 1, 1, 0
  local function emit(tag, text)
    n = n + 1
    tags[n], texts[n], apos[n], bpos[n] = tag, text, i, j
  end
  while i <= #a or j <= #b do
    if i <= #a and del[i] then
      emit("-", a[i]); i = i + 1
    elseif j <= #b and ins[j] then
      emit("+", b[j]); j = j + 1
    else
      -- Both unchanged: they are the same line (the marks guarantee it).
      emit(" ", a[i]); i, j = i + 1, j + 1
    end
  end
  return tags, texts, apos, bpos
end

-- Unified diff between two strings, or nil when they are equal.
-- Binary content (a NUL byte) is reported in one line.
function M.unified(old, new, old_label, new_label, context)
  if old == new then return nil end
  context = context or 3
  if old:find("\0", 1, true) or new:find("\0", 1, true) then
    return string.format("Binary content differs (%d -> %d bytes)\n", #old, #new)
  end
  local a, a_no_eol = split_lines(old)
  local b, b_no_eol = split_lines(new)
  -- A line that lost or gained its final newline differs.
  if a_no_eol then a[#a] = a[#a] .. "\0noeol" end
  if b_no_eol then b[#b] = b[#b] .. "\0noeol" end
  local del, ins = M.changes(a, b)
  local tags, texts, apos, bpos = edit_script(a, b, del, ins)
  local n = #tags
  local out = { "--- " .. old_label .. "\n", "+++ " .. new_label .. "\n" }
  local i = 1
  while i <= n do
    while i <= n and tags[i] == " " do i = i + 1 end
    if i > n then break end
    local start = math.max(1, i - context)
    local stop = i
    -- Extend while changes are within 2*context of each other.
    local j = i
    while j <= n do
      if tags[j] ~= " " then
        stop = j
        j = j + 1
      else
        local run_end = j
        while run_end <= n and tags[run_end] == " " do run_end = run_end + 1 end
        if run_end > n or run_end - j > 2 * context then break end
        j = run_end
      end
    end
    local finish = math.min(n, stop + context)
    local acount, bcount = 0, 0
    local body = {}
    for k = start, finish do
      local tag, text = tags[k], texts[k]
      if tag ~= "+" then acount = acount + 1 end
      if tag ~= "-" then bcount = bcount + 1 end
      local noeol = text:find("\0noeol", 1, true)
      if noeol then text = text:sub(1, noeol - 1) end
      body[#body + 1] = tag .. text .. "\n"
      if noeol then body[#body + 1] = "\\ No newline at end of file\n" end
    end
    out[#out + 1] = string.format("@@ -%s +%s @@\n", range(apos[start], acount), range(bpos[start], bcount))
    for _, l in ipairs(body) do out[#out + 1] = l end
    i = finish + 1
  end
  return table.concat(out)
end

return M
