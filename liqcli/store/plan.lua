-- liqcli window plan: the day, hour and minute indexes of symbols that a window needs, in one
-- call. KEYS in groups of four, one group per symbol (all of a group in one hash slot):
--   <prefix>:{SYM}:days, <prefix>:{SYM}:hrs,
--   <prefix>:{SYM}:pruned (liqcli prune's marker: the first day that keeps its log),
--   <prefix>:{SYM}:mns (the minutes that have a minute rollup)
-- (one group per call on a Cluster; on a single server one call may carry many symbols)
-- ARGV[1], ARGV[2] = day range (ZRANGEBYSCORE bounds); ARGV[3] = the minute ranges of the (at
-- most two) edge slots, "lo hi lo hi" (may be empty); ARGV[4..] = hour ranges, in pairs
-- Returns, for each group: days separated by spaces, hours separated by spaces, pruned
-- marker or '', minutes separated by spaces (four strings per group, in the order of the
-- groups). The minute index is read only for a symbol with hours in the hour ranges (a
-- slot with minutes lies in an hour with an hour rollup): sparse symbols skip it.
local ranges = {}
for bound in string.gmatch(ARGV[3], '%S+') do ranges[#ranges + 1] = bound end
local out = {}
for g = 1, #KEYS, 4 do
  local hours = {}
  for i = 4, #ARGV, 2 do
    for _, h in ipairs(redis.call('ZRANGEBYSCORE', KEYS[g + 1], ARGV[i], ARGV[i + 1])) do
      hours[#hours + 1] = h
    end
  end
  local minutes = {}
  if #hours > 0 then
    for i = 1, #ranges, 2 do
      for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[g + 3], ranges[i], ranges[i + 1])) do
        minutes[#minutes + 1] = m
      end
    end
  end
  out[#out + 1] = table.concat(redis.call('ZRANGEBYSCORE', KEYS[g], ARGV[1], ARGV[2]), ' ')
  out[#out + 1] = table.concat(hours, ' ')
  out[#out + 1] = redis.call('GET', KEYS[g + 2]) or ''
  out[#out + 1] = table.concat(minutes, ' ')
end
return out
