-- liqcli top read: the top-K sorted sets of whole days/hours and the logs of partial hours of
-- ONE symbol. All keys share the symbol's hash tag (Redis Cluster safe), declared in KEYS.
--
-- ARGV[1] = z: KEYS[1..z] are sorted sets (tu:/tq: D:<day> or h:<hour>), and when ARGV[3] is
--           '1', KEYS[z+1..2z] are the matching rollup hashes; the remaining KEYS are slot logs
-- ARGV[2] = n > 0: from each set only the members scoring at least its n-th largest score
--           (ties kept); 0: every member
-- Returns one string per key: members joined by "\n"; a rollup hash as "field\nvalue\n...";
-- a log as its entries' payloads joined by "\n".

local z = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local hashes = ARGV[3] == '1' and z or 0
local out = {}
for i = 1, #KEYS do
  if i <= z then
    local members
    if n > 0 then
      local nth = redis.call('ZREVRANGE', KEYS[i], n - 1, n - 1, 'WITHSCORES')[2]
      if nth == nil then
        members = redis.call('ZRANGE', KEYS[i], 0, -1)
      else
        members = redis.call('ZRANGEBYSCORE', KEYS[i], nth, '+inf')
      end
    else
      members = redis.call('ZRANGE', KEYS[i], 0, -1)
    end
    out[i] = table.concat(members, '\n')
  elseif i <= z + hashes then
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
