-- liqcli ingest script: stores a batch of events of ONE symbol atomically and idempotently.
-- All keys share the symbol's hash tag, so the script is Redis Cluster safe.
--
-- KEYS[1] = cumulative rollup hash   <prefix>:{SYM}:t
-- KEYS[2] = hour index sorted set    <prefix>:{SYM}:hrs
-- KEYS[3..] = dedupe buckets (:d:...), 10-minute slot logs (:l:<slot>), slot rollups (:s:<slot>),
--             hour rollups (:h:<hour>), day rollups (:D:<day>)
-- ARGV[1] = number of events n
-- ARGV[2] = n fingerprints of 12 bytes each, concatenated
-- ARGV[3] = n records separated by "\n", each: 13 fields and the log payload, tab-separated:
--   dedupe-key index, slot-log-key index, slot-rollup-key index, hour-rollup-key index,
--   day-rollup-key index, hour,
--   qty limbs (integer part, 1e-9 part, 1e-18 part), usd limbs (same), ts (epoch ms),
--   payload = exchange, side (L/S), price, qty, usd ('' = price*qty), ts offset in the slot (ms),
--   id, raw symbol. The batch's payloads of one slot become ONE log entry (field 'v', payloads
--   joined by "\n"): one XADD per slot per batch instead of one per event.
-- (validated text: no field can contain a tab or newline; packing keeps client-side cost low)
-- Amount limbs are added with HINCRBY and never carried: readers compute i + f1/1e9 + f2/1e18 exactly.
-- Nothing here can fail after the first write (inputs are validated by the client), so a batch is
-- applied completely or (if the server never received it) not at all.
-- Returns one character per event: '1' stored, '0' duplicate.

local n = tonumber(ARGV[1])
local fps = ARGV[2]
local data = ARGV[3]
local FP = 12
local PAT = '^' .. string.rep('([^\t]*)\t', 13) .. '(([^\t]*\t[^\t]*)\t.*)$'

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
local hours, logs, hourof, dayof = {}, {}, {}, {}
local flags = {}

-- acc[slot-rollup key index][exchange<TAB>side] = {n, qi, q1, q2, ui, u1, u2, first ts, last ts}
-- (the hour, day and cumulative rollups get the sums of the slots' accumulators at the end)
local acc = {}
local NAMES = {'n', 'qi', 'q1', 'q2', 'ui', 'u1', 'u2'}

local function add(k, prefix, qi, q1, q2, ui, u1, u2, ts)
  local byprefix = acc[k]
  if byprefix == nil then byprefix = {}; acc[k] = byprefix end
  local a = byprefix[prefix]
  if a == nil then
    byprefix[prefix] = {1, qi, q1, q2, ui, u1, u2, ts, ts}
    return
  end
  a[1] = a[1] + 1
  a[2] = a[2] + qi; a[3] = a[3] + q1; a[4] = a[4] + q2
  a[5] = a[5] + ui; a[6] = a[6] + u1; a[7] = a[7] + u2
  if ts < a[8] then a[8] = ts end
  if ts > a[9] then a[9] = ts end
end

local pos = 1
for i = 0, n - 1 do
  local stop = string.find(data, '\n', pos, true) or (#data + 1)
  local dk, lk, sk, hk, dayk, hour, qi, q1, q2, ui, u1, u2, ts, payload, cell =
    string.match(string.sub(data, pos, stop - 1), PAT)
  pos = stop + 1
  dk = tonumber(dk)
  local fp = string.sub(fps, i * FP + 1, i * FP + FP)
  if seen[dk] == nil then
    seen[dk] = redis.call('GET', KEYS[dk]) or ''
    added[dk] = ''
  end
  if has(seen[dk], fp) or has(added[dk], fp) then
    flags[#flags + 1] = '0'
  else
    flags[#flags + 1] = '1'
    added[dk] = added[dk] .. fp
    lk = tonumber(lk)
    local lines = logs[lk]
    if lines == nil then lines = {}; logs[lk] = lines end
    lines[#lines + 1] = payload
    ts = tonumber(ts)
    qi, q1, q2 = tonumber(qi), tonumber(q1), tonumber(q2)
    ui, u1, u2 = tonumber(ui), tonumber(u1), tonumber(u2)
    sk, hk = tonumber(sk), tonumber(hk)
    add(sk, cell, qi, q1, q2, ui, u1, u2, ts)
    hourof[sk] = hk
    dayof[hk] = tonumber(dayk)
    hours[hour] = true
  end
end

for k, s in pairs(added) do
  if s ~= '' then redis.call('APPEND', KEYS[k], s) end
end
for lk, lines in pairs(logs) do
  redis.call('XADD', KEYS[lk], '*', 'v', table.concat(lines, '\n'))
end
local function merge(into, byprefix)
  for prefix, a in pairs(byprefix) do
    local t = into[prefix]
    if t == nil then
      into[prefix] = {a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]}
    else
      for j = 1, 7 do t[j] = t[j] + a[j] end
      if a[8] < t[8] then t[8] = a[8] end
      if a[9] > t[9] then t[9] = a[9] end
    end
  end
end
local function sums_by(level, parent_of)
  local out = {}
  for k, byprefix in pairs(level) do
    local parent = parent_of[k]
    local into = out[parent]
    if into == nil then into = {}; out[parent] = into end
    merge(into, byprefix)
  end
  return out
end
local slots = acc
local hours_acc = sums_by(slots, hourof)
local days = sums_by(hours_acc, dayof)
local total = {}
for _, byprefix in pairs(days) do merge(total, byprefix) end
acc = {}
for k, v in pairs(slots) do acc[k] = v end
for k, v in pairs(hours_acc) do acc[k] = v end
for k, v in pairs(days) do acc[k] = v end
acc[1] = total
for k, byprefix in pairs(acc) do
  local key = KEYS[k]
  for cell, a in pairs(byprefix) do
    local prefix = string.gsub(cell, '\t', '|') .. '|'
    for j = 1, 7 do
      if a[j] ~= 0 then redis.call('HINCRBY', key, prefix .. NAMES[j], string.format('%.0f', a[j])) end
    end
    local cur = tonumber(redis.call('HGET', key, prefix .. 't0'))
    if cur == nil or a[8] < cur then redis.call('HSET', key, prefix .. 't0', string.format('%.0f', a[8])) end
    cur = tonumber(redis.call('HGET', key, prefix .. 't1'))
    if cur == nil or a[9] > cur then redis.call('HSET', key, prefix .. 't1', string.format('%.0f', a[9])) end
  end
end
for hour in pairs(hours) do
  redis.call('ZADD', KEYS[2], 'NX', hour, hour)
end
-- ==== top-K block (liqcli top) =============================================================
-- ARGV[4] = one line per event (same order as ARGV[3]), tab-separated: KEYS indexes of the
--   day-USD, day-qty, hour-USD and hour-qty sorted sets (appended after every other key), the
--   USD and qty scores, then the member (ts, exchange, L/S, price, qty, usd, id: exact text).
-- ARGV[5] = K. Only events this batch stored as new are added. A set above K members keeps
--   every member scoring at least its K-th largest score: double rounding is monotonic, so
--   whatever it drops is exactly smaller than K members it keeps (ties are never split).
local TOPK = tonumber(ARGV[5])
local TPAT = '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$'
-- calls fn(line) for the line of ARGV ``data`` of each event this batch stored as new
local function each_new(data, fn)
  local pos = 1
  for i = 1, n do
    local stop = string.find(data, '\n', pos, true) or (#data + 1)
    if flags[i] == '1' then fn(string.sub(data, pos, stop - 1)) end
    pos = stop + 1
  end
end
local tadd = {}
each_new(ARGV[4], function(line)
  local du, dq, hu, hq, su, sq, member = string.match(line, TPAT)
  for _, pair in ipairs({{du, su}, {hu, su}, {dq, sq}, {hq, sq}}) do
    local k = tonumber(pair[1])
    local list = tadd[k]
    if list == nil then list = {}; tadd[k] = list end
    list[#list + 1] = pair[2]
    list[#list + 1] = member
  end
end)
for k, list in pairs(tadd) do
  for j = 1, #list, 1000 do
    redis.call('ZADD', KEYS[k], unpack(list, j, math.min(j + 999, #list)))
  end
  if redis.call('ZCARD', KEYS[k]) > TOPK then
    local kth = redis.call('ZREVRANGE', KEYS[k], TOPK - 1, TOPK - 1, 'WITHSCORES')[2]
    redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', '(' .. kth)
  end
end
-- ==== end of the top-K block ================================================================
-- ==== price-band block (liqcli levels) ====================================================
-- ARGV[6] = one line per event (same order as ARGV[3]), tab-separated: KEYS indexes of the
--   day and hour price-band hashes (appended after the top-K keys), the field
--   '<fine bucket>|L|S', then the qty limbs and the usd limbs (as in ARGV[3]).
-- A field's value is 'n qi q1 q2 ui u1 u2' in decimal text. The batch's sums are doubles
-- (exact: at most 500 events of limbs < 1e13), then added to the stored text with exact
-- decimal-string addition, the fractional limbs carried into the integer limb: exact at any
-- size. Only events this batch stored as new are counted.
local function bigadd(a, b)
  local out, carry = {}, 0
  local i, j = #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local d = carry + (i > 0 and string.byte(a, i) - 48 or 0) + (j > 0 and string.byte(b, j) - 48 or 0)
    out[#out + 1] = string.char(48 + d % 10)
    carry = math.floor(d / 10)
    i = i - 1; j = j - 1
  end
  local text = string.reverse(table.concat(out)):gsub('^0+', '')
  if text == '' then return '0' end
  return text
end
-- limbs (integer, 1e-9, 1e-18) of qty and usd in 'n qi q1 q2 ui u1 u2'
local LIMBS = {{2, 3, 4}, {5, 6, 7}}
-- (lo, hi) of two fractional limbs -> normalized (lo, hi) and the units carried to the whole
local function carry(lo, hi)
  hi = hi + math.floor(lo / 1e9)
  return lo % 1e9, hi % 1e9, math.floor(hi / 1e9)
end
local PPAT = '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$'
local pacc = {}
each_new(ARGV[6], function(line)
  local dk, hk, field, qi, q1, q2, ui, u1, u2 = string.match(line, PPAT)
  local v = {1, tonumber(qi), tonumber(q1), tonumber(q2), tonumber(ui), tonumber(u1), tonumber(u2)}
  for _, k in ipairs({tonumber(dk), tonumber(hk)}) do
    local byfield = pacc[k]
    if byfield == nil then byfield = {}; pacc[k] = byfield end
    local a = byfield[field]
    if a == nil then byfield[field] = {v[1], v[2], v[3], v[4], v[5], v[6], v[7]}
    else for j = 1, 7 do a[j] = a[j] + v[j] end end
  end
end)
for k, byfield in pairs(pacc) do
  local fields = {}
  for field in pairs(byfield) do fields[#fields + 1] = field end
  local current = redis.call('HMGET', KEYS[k], unpack(fields))
  local out = {}
  for j, field in ipairs(fields) do
    local a = byfield[field]
    -- carry the batch's fractional limbs (doubles, exact) before adding the text
    for _, l in ipairs(LIMBS) do
      local up
      a[l[3]], a[l[2]], up = carry(a[l[3]], a[l[2]])
      a[l[1]] = a[l[1]] + up
    end
    local sums = {}
    for m = 1, 7 do sums[m] = string.format('%.0f', a[m]) end
    if current[j] then
      local old = {}
      for part in string.gmatch(current[j], '%S+') do old[#old + 1] = part end
      for m = 1, 7 do sums[m] = bigadd(old[m], sums[m]) end
      -- carry again: each stored fractional limb stays below 1e9 (the sums are below 2e9)
      for _, l in ipairs(LIMBS) do
        local lo, hi, up = carry(tonumber(sums[l[3]]), tonumber(sums[l[2]]))
        sums[l[3]], sums[l[2]] = string.format('%.0f', lo), string.format('%.0f', hi)
        if up > 0 then sums[l[1]] = bigadd(sums[l[1]], string.format('%.0f', up)) end
      end
    end
    out[#out + 1] = field
    out[#out + 1] = table.concat(sums, ' ')
  end
  redis.call('HSET', KEYS[k], unpack(out))
end
-- ==== end of the price-band block ===========================================================
return table.concat(flags)
