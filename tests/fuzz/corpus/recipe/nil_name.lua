local t = {}
for k, v in pairs(node) do t[#t + 1] = k end
file(nil) {}
