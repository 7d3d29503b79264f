-- liqcli prune: drops one day's logs of ONE symbol and its events' dedupe fingerprints,
-- atomically (liqcli/store/maintenance.py); every key shares the symbol's hash tag.
-- KEYS[1] the :pruned marker (first day that keeps its log); KEYS[2..n+1] the day's logs (the
-- day log first); then m dedupe buckets; then the day's top-K sets and price-band hash.
-- ARGV[1] the new marker, ARGV[2] n, ARGV[3..n+2] each log's length when the client read it
-- (an ingest that wrote to the day since then: nothing is done, 0 is returned, the client
-- reads the day again), then per dedupe bucket the fingerprints (12 bytes each) to remove from
-- it (overflow marks stay, so lookups still reach the next tiers); the last three ARGV: the
-- top-K lines, K and the price-band lines of the day log's events (structures.lua). Those
-- events are in no top-K set or price band (schema 3: the readers add the day log's events):
-- they are folded in before the log goes, so top and levels stay exact for the whole day.

-- include: structures.lua

local n = tonumber(ARGV[2])
local m = #ARGV - n - 5
for i = 1, n do
  if redis.call('STRLEN', KEYS[i + 1]) ~= tonumber(ARGV[i + 2]) then return 0 end
end
local function all() return true end
top_add(ARGV[#ARGV - 2], all, tonumber(ARGV[#ARGV - 1]))
bands_add(ARGV[#ARGV], all)
local marker = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > marker then redis.call('SET', KEYS[1], ARGV[1]) end
for i = 2, n + 1 do redis.call('DEL', KEYS[i]) end
for i = n + 2, n + 1 + m do
  local drop = {}
  local fps = ARGV[i + 1]
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
