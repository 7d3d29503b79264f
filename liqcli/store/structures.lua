-- liqcli: the writes of the per-day top-K sets (liqcli top) and price-band hashes (liqcli
-- levels), shared by ingest.lua and prune.lua: the line "-- include: structures.lua" of those
-- scripts is replaced by this text when they are loaded (liqcli.store.store._script_source).
--
-- Schema 3: a day's sets and bands hold only the events stored OUTSIDE its day log ld:<day>
-- (in its hour and slot logs); readers add the events of the day log (small: below the day
-- log cap). liqcli prune folds a day log's events in here before deleting that log.
--
-- Both functions take ``data`` (one line per event, tab-separated, made by the client:
-- liqcli.store.store._top_args / _band_args) and ``keep(i)``: whether line i (1-based) counts.

-- calls fn(line) for each line i of ``data`` with keep(i)
local function each_kept(data, keep, fn)
  if data == nil or data == '' then return end
  local pos, i = 1, 1
  while true do
    local stop = string.find(data, '\n', pos, true)
    if keep(i) then fn(string.sub(data, pos, (stop or (#data + 1)) - 1)) end
    if not stop then return end
    pos = stop + 1
    i = i + 1
  end
end

-- ==== top-K sets ============================================================================
-- A line: KEYS indexes of the day-USD and day-qty sorted sets, the USD and qty scores, then
-- the member (ts, exchange, L/S, price, qty, usd, id: exact text). A set above K members keeps
-- every member scoring at least its K-th largest score: double rounding is monotonic, so
-- whatever it drops is exactly smaller than K members it keeps (ties are never split). A
-- trimmed set also holds the member '~' with score -inf: it may miss events (filters).
local TPAT = '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$'
local function top_add(data, keep, topk)
  local tadd = {}
  local function tpush(k, score, member)
    local list = tadd[k]
    if list == nil then list = {}; tadd[k] = list end
    local m = #list
    list[m + 1] = score
    list[m + 2] = member
  end
  each_kept(data, keep, function(line)
    local du, dq, su, sq, member = string.match(line, TPAT)
    tpush(tonumber(du), su, member)
    tpush(tonumber(dq), sq, member)
  end)
  for k, list in pairs(tadd) do
    for j = 1, #list, 1000 do
      redis.call('ZADD', KEYS[k], unpack(list, j, math.min(j + 999, #list)))
    end
    if redis.call('ZCARD', KEYS[k]) > topk + 1 then
      local kth = redis.call('ZREVRANGE', KEYS[k], topk - 1, topk - 1, 'WITHSCORES')[2]
      redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', '(' .. kth)
      redis.call('ZADD', KEYS[k], '-inf', '~')
    end
  end
end

-- ==== price bands ===========================================================================
-- A line: the KEYS index of the day's price-band hash, the field '<fine bucket>|L|S', then the
-- qty limbs and the usd limbs (integer, 1e-9, 1e-18 units). A field's value is
-- 'n qi q1 q2 ui u1 u2' in decimal text. The integer limbs are added as decimal strings (exact
-- at any size); the fractional ones as doubles within the call (at most 5000 events below 1e9:
-- exact), then carried into the integer limb.
local function bigadd(a, b)
  if #a < 16 and #b < 16 then  -- both below 1e15: their sum is exact as a double
    return string.format('%.0f', tonumber(a) + tonumber(b))
  end
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
local PPAT = '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$'
local function bands_add(data, keep)
  local pacc = {}
  each_kept(data, keep, function(line)
    local dk, field, qi, q1, q2, ui, u1, u2 = string.match(line, PPAT)
    local k = tonumber(dk)
    local byfield = pacc[k]
    if byfield == nil then byfield = {}; pacc[k] = byfield end
    local a = byfield[field]
    if a == nil then
      byfield[field] = {1, qi, tonumber(q1), tonumber(q2), ui, tonumber(u1), tonumber(u2)}
    else
      a[1] = a[1] + 1
      a[2], a[5] = bigadd(a[2], qi), bigadd(a[5], ui)
      a[3], a[4] = a[3] + tonumber(q1), a[4] + tonumber(q2)
      a[6], a[7] = a[6] + tonumber(u1), a[7] + tonumber(u2)
    end
  end)
  for k, byfield in pairs(pacc) do
    local fields = {}
    for field in pairs(byfield) do fields[#fields + 1] = field end
    local stored_bands = redis.call('HMGET', KEYS[k], unpack(fields))
    local out = {}
    for j, field in ipairs(fields) do
      local a = byfield[field]
      -- carry the call's fractional limbs (doubles, exact) into its integer limb (text)
      for _, l in ipairs(LIMBS) do
        local up
        a[l[3]], a[l[2]], up = carry(a[l[3]], a[l[2]])
        if up > 0 then a[l[1]] = bigadd(a[l[1]], string.format('%.0f', up)) end
      end
      local sums = {}
      for m = 1, 7 do sums[m] = type(a[m]) == 'string' and a[m] or string.format('%.0f', a[m]) end
      if stored_bands[j] then
        local old = {}
        for part in string.gmatch(stored_bands[j], '%S+') do old[#old + 1] = part end
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
end
-- ==== end of structures.lua =================================================================
