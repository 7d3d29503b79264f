-- liqcli top read: the top-K sorted sets of whole days/hours of ONE symbol (the rollup hashes
-- and slot logs go through read.lua in the same pipeline). All keys share the symbol's hash
-- tag (Redis Cluster safe) and are declared in KEYS.
--
-- ARGV[1] = n > 0: from each set only the members scoring at least its n-th largest score
--           (ties kept); 0: every member
-- Returns one string per set: its members joined by "\n".

local n = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do
  local members
  local nth = n > 0 and redis.call('ZREVRANGE', KEYS[i], n - 1, n - 1, 'WITHSCORES')[2] or nil
  if nth == nil then
    members = redis.call('ZRANGE', KEYS[i], 0, -1)
  else
    members = redis.call('ZRANGEBYSCORE', KEYS[i], nth, '+inf')
  end
  out[i] = table.concat(members, '\n')
end
return out
