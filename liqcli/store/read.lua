-- liqcli window read: the rollup hashes and edge-hour logs of ONE symbol, each as one string.
-- All keys share the symbol's hash tag (Redis Cluster safe) and are declared in KEYS.
--
-- KEYS[1..ARGV[1]]  rollup hashes (days, hours): each returned as "field\nvalue\nfield\nvalue..."
-- KEYS[ARGV[1]+1..] hour logs (streams): each returned as its entries' payloads joined by "\n"
-- One string per key instead of thousands of reply elements keeps the client's parsing cheap.

local hashes = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do
  if i <= hashes then
    out[i] = table.concat(redis.call('HGETALL', KEYS[i]), '\n')
  else
    local parts = {}
    for j, entry in ipairs(redis.call('XRANGE', KEYS[i], '-', '+')) do
      parts[j] = entry[2][2]
    end
    out[i] = table.concat(parts, '\n')
  end
end
return out
