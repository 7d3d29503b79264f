-- liqcli ingest script: stores a batch of events of ONE symbol atomically and idempotently.
-- All keys share the symbol's hash tag, so the script is Redis Cluster safe.
--
-- KEYS[1] = cumulative rollup hash   <prefix>:{SYM}:t
-- KEYS[2] = hour index sorted set    <prefix>:{SYM}:hrs
-- KEYS[3..] = dedupe buckets (<prefix>:{SYM}:d:<n>), hour logs (:l:<hour>), hour rollups (:h:<hour>)
-- ARGV[1] = number of events; then 20 arguments per event:
--   dedupe-key index, fingerprint (12 bytes), log-key index, hour-rollup-key index, hour,
--   exchange, side (L/S), price, qty, usd ('' = price*qty), ts offset in the hour (ms), id, raw symbol,
--   qty limbs (integer part, 1e-9 part, 1e-18 part), usd limbs (same), ts (epoch ms)
-- Amount limbs are added with HINCRBY and never carried: readers compute i + f1/1e9 + f2/1e18 exactly.
-- Nothing here can fail after the first write (inputs are validated by the client), so a batch is
-- applied completely or (if the server never received it) not at all.
-- Returns one character per event: '1' stored, '0' duplicate.

local W = 20
local n = tonumber(ARGV[1])
local FP = 12

local function has(s, fp)
  local start = 1
  while true do
    local pos = string.find(s, fp, start, true)
    if not pos then return false end
    if (pos - 1) % FP == 0 then return true end
    start = pos + 1
  end
end

local seen, added = {}, {}
local sums, firsts, lasts, hours = {}, {}, {}, {}
local flags = {}

local function bump(k, field, v)
  local t = sums[k]
  if t == nil then t = {}; sums[k] = t end
  t[field] = (t[field] or 0) + v
end

local function minmax(k, prefix, ts)
  local f = firsts[k]
  if f == nil then f = {}; firsts[k] = f; lasts[k] = {} end
  local l = lasts[k]
  if f[prefix] == nil or ts < f[prefix] then f[prefix] = ts end
  if l[prefix] == nil or ts > l[prefix] then l[prefix] = ts end
end

for i = 0, n - 1 do
  local b = 1 + i * W
  local dk = tonumber(ARGV[b + 1])
  local fp = ARGV[b + 2]
  if seen[dk] == nil then
    seen[dk] = redis.call('GET', KEYS[dk]) or ''
    added[dk] = ''
  end
  if has(seen[dk], fp) or has(added[dk], fp) then
    flags[#flags + 1] = '0'
  else
    flags[#flags + 1] = '1'
    added[dk] = added[dk] .. fp
    local lk, hk, hour = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4]), ARGV[b + 5]
    local ex, side = ARGV[b + 6], ARGV[b + 7]
    redis.call('XADD', KEYS[lk], '*', 'e', ex, 's', side, 'p', ARGV[b + 8], 'q', ARGV[b + 9],
      'u', ARGV[b + 10], 't', ARGV[b + 11], 'i', ARGV[b + 12], 'r', ARGV[b + 13])
    local prefix = ex .. '|' .. side .. '|'
    local ts = tonumber(ARGV[b + 20])
    for _, k in ipairs({1, hk}) do
      bump(k, prefix .. 'n', 1)
      bump(k, prefix .. 'qi', tonumber(ARGV[b + 14]))
      bump(k, prefix .. 'q1', tonumber(ARGV[b + 15]))
      bump(k, prefix .. 'q2', tonumber(ARGV[b + 16]))
      bump(k, prefix .. 'ui', tonumber(ARGV[b + 17]))
      bump(k, prefix .. 'u1', tonumber(ARGV[b + 18]))
      bump(k, prefix .. 'u2', tonumber(ARGV[b + 19]))
      minmax(k, prefix, ts)
    end
    hours[hour] = true
  end
end

for k, s in pairs(added) do
  if s ~= '' then redis.call('APPEND', KEYS[k], s) end
end
for k, t in pairs(sums) do
  for field, v in pairs(t) do
    if v ~= 0 then redis.call('HINCRBY', KEYS[k], field, string.format('%.0f', v)) end
  end
end
for k, f in pairs(firsts) do
  local l = lasts[k]
  for prefix, v in pairs(f) do
    local cur = tonumber(redis.call('HGET', KEYS[k], prefix .. 't0'))
    if cur == nil or v < cur then redis.call('HSET', KEYS[k], prefix .. 't0', string.format('%.0f', v)) end
    cur = tonumber(redis.call('HGET', KEYS[k], prefix .. 't1'))
    if cur == nil or l[prefix] > cur then
      redis.call('HSET', KEYS[k], prefix .. 't1', string.format('%.0f', l[prefix]))
    end
  end
end
for hour in pairs(hours) do
  redis.call('ZADD', KEYS[2], 'NX', hour, hour)
end
return table.concat(flags)
