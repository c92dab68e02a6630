-- ccchef.diff: unified diffs of file content for why-run and change
-- reports (Myers' O(ND) algorithm on lines, hunks with 3 lines of context).
local M = {}

local MAX_EDITS = 2000 -- beyond this, show a whole replacement instead

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

-- Returns the trace of V arrays, or nil when the edit distance is too large.
local function shortest_edit(a, b, lo, ahi, bhi)
  local v = { [1] = lo }
  local trace = {}
  local max = (ahi - lo) + (bhi - lo)
  for d = 0, math.min(max, MAX_EDITS) do
    local copy = {}
    for k, x in pairs(v) do copy[k] = x end
    trace[d] = copy
    for k = -d, d, 2 do
      local x
      if k == -d or (k ~= d and v[k - 1] < v[k + 1]) then
        x = v[k + 1]
      else
        x = v[k - 1] + 1
      end
      local y = x - k
      while x < ahi and y < bhi and a[x + 1] == b[y + 1] do
        x, y = x + 1, y + 1
      end
      v[k] = x
      if x >= ahi and y >= bhi then return trace end
    end
  end
  return nil
end

-- ops: list of { " "|"-"|"+", text }
local function edit_script(a, b)
  local n, m = #a, #b
  -- Common prefix and suffix need no search.
  local pre = 0
  while pre < n and pre < m and a[pre + 1] == b[pre + 1] do pre = pre + 1 end
  local suf = 0
  while suf < n - pre and suf < m - pre and a[n - suf] == b[m - suf] do suf = suf + 1 end
  local ops = {}
  for i = 1, pre do ops[#ops + 1] = { " ", a[i] } end
  -- Myers on the middle, with coordinates shifted so both start at pre
  -- (x and y offsets equal, so diagonals k = x - y are unchanged).
  local ahi, bhi = n - suf, m - suf
  local trace = shortest_edit(a, b, pre, ahi, bhi)
  local middle = {}
  if trace == nil then
    for i = pre + 1, ahi do middle[#middle + 1] = { "-", a[i] } end
    for i = pre + 1, bhi do middle[#middle + 1] = { "+", b[i] } end
  else
    local x, y = ahi, bhi
    for d = #trace, 0, -1 do
      local v = trace[d]
      local k = x - y
      local prev_k
      if k == -d or (k ~= d and v[k - 1] < v[k + 1]) then prev_k = k + 1 else prev_k = k - 1 end
      local prev_x = v[prev_k]
      local prev_y = prev_x - prev_k
      while x > prev_x and y > prev_y do
        middle[#middle + 1] = { " ", a[x] }
        x, y = x - 1, y - 1
      end
      if d > 0 then
        if x == prev_x then
          middle[#middle + 1] = { "+", b[y] }
        else
          middle[#middle + 1] = { "-", a[x] }
        end
      end
      x, y = prev_x, prev_y
    end
    -- collected backwards
    for i = 1, #middle // 2 do
      middle[i], middle[#middle - i + 1] = middle[#middle - i + 1], middle[i]
    end
  end
  for _, op in ipairs(middle) do ops[#ops + 1] = op end
  for i = n - suf + 1, n do ops[#ops + 1] = { " ", a[i] } end
  return ops
end

local function range(start, count)
  if count == 1 then return tostring(start) end
  if count == 0 then return (start - 1) .. ",0" end
  return start .. "," .. count
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
  local ops = edit_script(a, b)
  local out = { "--- " .. old_label .. "\n", "+++ " .. new_label .. "\n" }
  local i = 1
  local aline, bline = 1, 1
  local pos = {}
  for k, op in ipairs(ops) do
    pos[k] = { aline, bline }
    if op[1] ~= "+" then aline = aline + 1 end
    if op[1] ~= "-" then bline = bline + 1 end
  end
  while i <= #ops do
    while i <= #ops and ops[i][1] == " " do i = i + 1 end
    if i > #ops then break end
    local start = math.max(1, i - context)
    local stop = i
    -- extend while changes are within 2*context of each other
    local j = i
    while j <= #ops do
      if ops[j][1] ~= " " then
        stop = j
        j = j + 1
      else
        local run_end = j
        while run_end <= #ops and ops[run_end][1] == " " do run_end = run_end + 1 end
        if run_end > #ops or run_end - j > 2 * context then break end
        j = run_end
      end
    end
    local finish = math.min(#ops, stop + context)
    local acount, bcount = 0, 0
    local body = {}
    for k = start, finish do
      local tag, text = ops[k][1], ops[k][2]
      if tag ~= "+" then acount = acount + 1 end
      if tag ~= "-" then bcount = bcount + 1 end
      local noeol = text:find("\0noeol", 1, true)
      if noeol then text = text:sub(1, noeol - 1) end
      body[#body + 1] = tag .. text .. "\n"
      if noeol then body[#body + 1] = "\\ No newline at end of file\n" end
    end
    local astart = acount == 0 and pos[start][1] or pos[start][1]
    local bstart = pos[start][2]
    out[#out + 1] = string.format("@@ -%s +%s @@\n", range(astart, acount), range(bstart, bcount))
    for _, l in ipairs(body) do out[#out + 1] = l end
    i = finish + 1
  end
  return table.concat(out)
end

return M
