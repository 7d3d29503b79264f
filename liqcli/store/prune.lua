-- liqcli prune: drops one day's logs of ONE symbol, its minute rollups and its events' dedupe
-- fingerprints, atomically (liqcli/store/maintenance.py); every key shares the symbol's hash
-- tag.
-- KEYS[1] the :pruned marker (first day that keeps its log); KEYS[2..n+1] the day's logs (the
-- day log ld:<day> first); then the b dedupe buckets; then pl:<day>; then the minute index
-- mns; then the day's minute rollups m:<minute>.
-- ARGV[1] the new marker, ARGV[2] n, ARGV[3] b, ARGV[4], ARGV[5] the day's minutes (first,
-- last: removed from mns); ARGV[6..n+5] each log's length when the client read it (an ingest
-- that wrote to the day since then: nothing is done, 0 is returned, the client reads the day
-- again), then per dedupe bucket the fingerprints (12 bytes each) to remove from it. Overflow
-- marks stay, so lookups still reach the next tiers.
-- The day log's events are in none of the day's top-K sets and price bands (schema 3): its
-- text is kept as pl:<day> (appended to it, should it exist), read by top and levels with
-- those structures for a whole pruned day; no other read uses it (the day's log is pruned).
local n, b = tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, n do
  if redis.call('STRLEN', KEYS[i + 1]) ~= tonumber(ARGV[i + 5]) then return 0 end
end
local marker = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > marker then redis.call('SET', KEYS[1], ARGV[1]) end
local pl = n + b + 2
local day_log = redis.call('GET', KEYS[2])
if day_log then
  local kept = redis.call('GET', KEYS[pl])
  redis.call('SET', KEYS[pl], kept and (kept .. '\n' .. day_log) or day_log)
end
for i = 2, n + 1 do redis.call('DEL', KEYS[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[pl + 1], ARGV[4], ARGV[5])
for i = pl + 2, #KEYS do redis.call('DEL', KEYS[i]) end
for i = n + 2, n + b + 1 do
  local drop = {}
  local fps = ARGV[i + 4]
  for j = 1, #fps, 12 do drop[string.sub(fps, j, j + 11)] = true end
  local s = redis.call('GET', KEYS[i])
  if s then
    local keep = {}
    for j = 1, #s, 12 do
      local fp = string.sub(s, j, j + 11)
      if not drop[fp] then keep[#keep + 1] = fp end
    end
    if #keep == 0 then
      redis.call('DEL', KEYS[i])
    elseif #keep * 12 < #s then
      redis.call('SET', KEYS[i], table.concat(keep))
    end
  end
end
return 1
