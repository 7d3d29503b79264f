-- liqcli window plan: the day and hour indexes of ONE symbol that a window needs, in one call.
-- KEYS[1] = <prefix>:{SYM}:days, KEYS[2] = <prefix>:{SYM}:hrs (same hash slot),
-- KEYS[3] = <prefix>:{SYM}:pruned (liqcli prune's marker: the first day that keeps its log)
-- ARGV[1], ARGV[2] = day range (ZRANGEBYSCORE bounds); ARGV[3..] = hour ranges, in pairs
-- Returns {days separated by spaces, hours separated by spaces, pruned marker or ''}.
local hours = {}
for i = 3, #ARGV, 2 do
  for _, h in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[i], ARGV[i + 1])) do
    hours[#hours + 1] = h
  end
end
return {table.concat(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[2]), ' '),
        table.concat(hours, ' '), redis.call('GET', KEYS[3]) or ''}
