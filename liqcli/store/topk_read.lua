-- liqcli top read: the top-K sorted sets of whole days of ONE symbol, and their day logs
-- (schema 3: a day's sets hold only the events outside its day log; the reader adds the day
-- log's events). All keys share the symbol's hash tag (Redis Cluster safe) and are declared in
-- KEYS.
--
-- ARGV[1] = n > 0: from each set only the members scoring at least its n-th largest score
--           (ties kept); 0: every member
-- ARGV[2] = the number of sets (KEYS[1..ARGV[2]]); the keys after them are day logs (strings)
-- Returns one string per key: a set's members joined by "\n", a log as it is ('' if absent).

local n = tonumber(ARGV[1])
local sets = tonumber(ARGV[2] or #KEYS)
local out = {}
for i = 1, #KEYS do
  if i > sets then
    out[i] = redis.call('GET', KEYS[i]) or ''
  else
    local members
    local nth = n > 0 and redis.call('ZREVRANGE', KEYS[i], n - 1, n - 1, 'WITHSCORES')[2] or nil
    if nth == nil then
      members = redis.call('ZRANGE', KEYS[i], 0, -1)
    else
      members = redis.call('ZRANGEBYSCORE', KEYS[i], nth, '+inf')
    end
    out[i] = table.concat(members, '\n')
  end
end
return out
