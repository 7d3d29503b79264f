-- liqcli window plan: the day and hour indexes of symbols that a window needs, in one call.
-- KEYS in groups of three, one group per symbol (all of a group in one hash slot):
--   <prefix>:{SYM}:days, <prefix>:{SYM}:hrs,
--   <prefix>:{SYM}:pruned (liqcli prune's marker: the first day that keeps its log)
-- (one group per call on a Cluster; on a single server one call may carry many symbols)
-- ARGV[1], ARGV[2] = day range (ZRANGEBYSCORE bounds); ARGV[3..] = hour ranges, in pairs
-- Returns, for each group: days separated by spaces, hours separated by spaces, pruned
-- marker or '' (three strings per group, in the order of the groups).
local out = {}
for g = 1, #KEYS, 3 do
  local hours = {}
  for i = 3, #ARGV, 2 do
    for _, h in ipairs(redis.call('ZRANGEBYSCORE', KEYS[g + 1], ARGV[i], ARGV[i + 1])) do
      hours[#hours + 1] = h
    end
  end
  out[#out + 1] = table.concat(redis.call('ZRANGEBYSCORE', KEYS[g], ARGV[1], ARGV[2]), ' ')
  out[#out + 1] = table.concat(hours, ' ')
  out[#out + 1] = redis.call('GET', KEYS[g + 2]) or ''
end
return out
