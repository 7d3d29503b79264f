-- liqcli ingest script (schema 5): stores a batch of events of ONE symbol atomically and
-- idempotently. All keys share the symbol's hash tag, so the script is Redis Cluster safe.
--
-- KEYS[1] = cumulative rollup hash  <prefix>:{SYM}:t
-- KEYS[2] = day index sorted set    <prefix>:{SYM}:days   (days that hold events)
-- KEYS[3] = hour index sorted set   <prefix>:{SYM}:hrs    (hours with an hour rollup)
-- KEYS[4] = first dedupe tier       <prefix>:{SYM}:d
-- KEYS[5..] = the other dedupe buckets (d1:<n>, d2:<n>, d3:<n>), logs (ld:<day>, lh:<hour>,
--             ls:<slot>, lm:<minute>), rollups (D:<day>, h:<hour>, s:<slot>, m:<minute>) and
--             the minute index (mns: minutes with a minute rollup) the batch may touch
-- ARGV[1] = number of events n (sorted by minute: a group's events are contiguous)
-- ARGV[2] = n identities of 14 bytes: 2 bytes choose the dedupe buckets, 12 are stored
-- ARGV[3] = the dedupe buckets' key indexes, "\n"-separated "tier bucket index"
-- ARGV[4] = "day hour slot": the day, hour and slot log caps (bytes)
-- ARGV[5] = KEYS index of the minute index mns; ARGV[6] = dedupe bucket cap (bytes)
-- ARGV[7] = number of groups G (one per minute of the batch); then 4 ARGV per group:
--   header  "ld lh ls lm D h s m day hour minute first last" (key indexes; day, hour and
--           minute numbers; the group's first and last event, 0-based)
--   lines   the events' log lines, "\n"-separated, in event order
--   cells   the group's sums per exchange x side, "\n"-separated
--           "cell n qi q1 q2 ui u1 u2 t0 t1" (limbs carried), computed by the client
--   detail  per event "cell-number qi q1 q2 ui u1 u2 ts", "\n"-separated: read only when the
--           group holds a duplicate and a new event (its sums are then recomputed from its new
--           events), so empty for a group of one event
-- ARGV[8 + 4G], ARGV[9 + 4G] = the live feed's key index and cap (the block at the end)
-- ARGV[10 + 4G] .. ARGV[12 + 4G] = the top-K and price-band blocks' data (after phase 4): only
--   events placed outside their day log go into those structures (schema 3)
--
-- Density decides where a group's new events go (reads do not depend on the caps): into the
-- day's log while that holds < day cap bytes (rollups: day, total); else into the hour's log
-- while that holds < hour cap bytes (+ hour rollup); else into the 10-minute slot's log if it
-- stays < slot cap bytes with them (+ slot rollup); else into the minute's log (+ minute rollup,
-- the minute registered in mns). A sparse symbol thus costs one log string and one rollup
-- hash a day; a dense one gets the fine rollups its window edges need. Log lines carry their time as ms after the day's start.
--
-- Phases: 1 dedupe (reads), 2 placement + accumulation, 3 bounds (reads the stored cells; a
-- sum beyond the limit refuses the whole batch with an error, before any write), 4 all writes.
-- Nothing can fail after the first write, so a batch is applied completely or not at all.
-- Rollup cells are one hash field per exchange x side, added as limbs (q1, q2 < 1e9; qi, ui <
-- 2^53) and stored as "n qi q1 q2 ui u1 u2 t0 t1" (cumulative) or "n qty usd t0 t1" (a period's:
-- decimal text, times after its start; phase 3). Returns one character per event: '1' new, '0' duplicate.

local n = tonumber(ARGV[1])
local ids = ARGV[2]
local DAY_CAP, HOUR_CAP, SLOT_CAP = string.match(ARGV[4], '^(%d+) (%d+) (%d+)$')
DAY_CAP, HOUR_CAP, SLOT_CAP = tonumber(DAY_CAP), tonumber(HOUR_CAP), tonumber(SLOT_CAP)
local MNS, DEDUPE_CAP = tonumber(ARGV[5]), tonumber(ARGV[6])
local G = tonumber(ARGV[7])
local ID, FP = 14, 12
local FULL = string.rep('\0', FP) -- marks a dedupe bucket that overflowed into the next tier
local E9 = 1000000000
local LIMIT = 9007199254740991 -- 2^53 - 1: the largest integer limb the script adds exactly
local CELL = '^(%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+)$'
local MODS = {16, 256, 4096}

local function fmt(x) return string.format('%.0f', x) end

local function has(s, fp)
  local start = 1
  while true do
    local pos = string.find(s, fp, start, true)
    if not pos then return false end
    if (pos - 1) % FP == 0 then return true end
    start = pos + 1
  end
end

local stored = {}   -- key index -> its stored string (dedupe buckets; logs when written)
local function current(k)
  local v = stored[k]
  if v == nil then
    v = redis.call('GET', KEYS[k]) or ''
    stored[k] = v
  end
  return v
end
-- a log's stored length (STRLEN: a full day or hour log is never read whole, only measured)
local sizes = {}
local function size(k)
  local v = sizes[k]
  if v == nil then
    local s = stored[k]
    if s ~= nil then v = #s else v = redis.call('STRLEN', KEYS[k]) end
    sizes[k] = v
  end
  return v
end

-- ------------------------------------------------ phase 1: dedupe (reads only)
local bucket = {{}, {}, {}}  -- tier -> bucket number -> key index
for tier, b, k in string.gmatch(ARGV[3], '(%d+) (%d+) (%d+)') do
  bucket[tonumber(tier)][tonumber(b)] = tonumber(k)
end
local fresh = {}    -- key index -> fingerprints added by this batch
local tiers = {4, 0, 0, 0}  -- the event's dedupe bucket per tier (key indexes), reused
-- whether a bucket holds the FULL mark: its stored string (searched once), what this batch added
local storedfull, freshfull = {}, {}
local function overflowed(k)
  local v = storedfull[k]
  if v == nil then v = has(current(k), FULL); storedfull[k] = v end
  return v or freshfull[k] == true
end
local flags = {}
local dups = 0
for i = 0, n - 1 do
  local b1, b2 = string.byte(ids, i * ID + 1, i * ID + 2)
  local h = b1 * 256 + b2
  local fp = string.sub(ids, i * ID + 3, i * ID + ID)
  tiers[2], tiers[3], tiers[4] = bucket[1][h % 16], bucket[2][h % 256], bucket[3][h % 4096]
  -- search the tiers in order; a bucket holding the FULL mark overflowed into the next tier,
  -- one without it never did (so the search stops there)
  local dup, last = false, 4
  for t = 1, 4 do
    local k = tiers[t]
    local s, f = current(k), fresh[k] or ''
    if has(s, fp) or has(f, fp) then dup = true; break end
    last = t
    if t == 4 or not overflowed(k) then break end
  end
  if dup then
    flags[i + 1] = '0'
    dups = dups + 1
  else
    flags[i + 1] = '1'
    -- the first tier (from the last one searched) with room; a full bucket gets the mark
    for t = last, 4 do
      local k = tiers[t]
      local f = fresh[k] or ''
      if t == 4 or #current(k) + #f < DEDUPE_CAP then
        fresh[k] = f .. fp
        if fp == FULL then freshfull[k] = true end
        break
      end
      fresh[k] = f .. FULL
      freshfull[k] = true
    end
  end
end

-- ------------------------------------------------ phase 2: placement and accumulation
local inday = {}     -- event index (1-based) -> true: its group went into the day log
local lines = {}     -- key index -> log texts added by this batch
local linebytes = {} -- key index -> bytes of those
local days, hours, minutes = {}, {}, {}
-- acc[key index][cell] = {n, qi, q1, q2, ui, u1, u2, first ts, last ts}, limbs carried
local acc = {}
-- a[i], a[i + 1], a[i + 2] += an amount's three limbs, carrying (the two fractional limbs
-- stay below 1e9; each addend's are below 1e9 too, so one carry each suffices)
local function add_amount(a, i, whole, hi, lo)
  local x = a[i + 2] + lo
  if x >= E9 then x = x - E9; a[i + 1] = a[i + 1] + 1 end
  a[i + 2] = x
  x = a[i + 1] + hi
  if x >= E9 then x = x - E9; a[i] = a[i] + 1 end
  a[i + 1] = x
  a[i] = a[i] + whole
end
local function add(a, c, qi, q1, q2, ui, u1, u2, t0, t1)
  a[1] = a[1] + c
  add_amount(a, 2, qi, q1, q2)
  add_amount(a, 5, ui, u1, u2)
  if t0 < a[8] then a[8] = t0 end
  if t1 > a[9] then a[9] = t1 end
end

local run_slot, run_target = nil, nil  -- the slot log of the current run of groups, its log
local F = 8 + 4 * G  -- the live feed block's ARGV (see there)
local FEED = ARGV[F] ~= nil and ARGV[F] ~= ''
local feedlines = {}  -- its text, built with the placement (a group's new events' lines)
for g = 0, G - 1 do
  local header, text, cells_text, detail = ARGV[8 + 4 * g], ARGV[9 + 4 * g],
    ARGV[10 + 4 * g], ARGV[11 + 4 * g]
  local ld, lh, ls, lm, dk, hk, sk, mk, day, hour, minute, first, last = string.match(header,
    '^(%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+)$')
  ld, lh, ls, lm, first, last = tonumber(ld), tonumber(lh), tonumber(ls), tonumber(lm),
    tonumber(first), tonumber(last)
  local groupdups = 0
  if dups > 0 then
    for i = first, last do
      if flags[i + 1] == '0' then groupdups = groupdups + 1 end
    end
  end
  if groupdups <= last - first then
    -- the group's sums per cell: the client's, or (with a duplicate) its new events' own
    local sums = {}
    if groupdups == 0 then
      for cell, c, qi, q1, q2, ui, u1, u2, t0, t1 in string.gmatch(cells_text,
          '([^ \n]+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+)') do
        sums[cell] = {tonumber(c), tonumber(qi), tonumber(q1), tonumber(q2), tonumber(ui),
                      tonumber(u1), tonumber(u2), tonumber(t0), tonumber(t1)}
      end
    else
      local names = {}
      for cell in string.gmatch(cells_text, '([^ \n]+) [^\n]*') do names[#names + 1] = cell end
      local kept = {}
      local i = first
      local line_start = 1
      local dpos = 1
      for j = first, last do
        local stop = string.find(text, '\n', line_start, true) or (#text + 1)
        local dstop = string.find(detail, '\n', dpos, true) or (#detail + 1)
        if flags[j + 1] == '1' then
          kept[#kept + 1] = string.sub(text, line_start, stop - 1)
          local no, qi, q1, q2, ui, u1, u2, ts = string.match(string.sub(detail, dpos, dstop - 1),
            '^(%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+)$')
          local cell = names[tonumber(no)]
          ts = tonumber(ts)
          local a = sums[cell]
          if a == nil then
            sums[cell] = {1, tonumber(qi), tonumber(q1), tonumber(q2), tonumber(ui), tonumber(u1),
                          tonumber(u2), ts, ts}
          else
            add(a, 1, tonumber(qi), tonumber(q1), tonumber(q2), tonumber(ui), tonumber(u1),
                tonumber(u2), ts, ts)
          end
        end
        line_start = stop + 1
        dpos = dstop + 1
        i = i + 1
      end
      text = table.concat(kept, '\n')
    end
    -- placement: the day's log while it has room, then the hour's (decided once for the
    -- batch's run of groups of one slot, as when a group was a slot), then per minute the
    -- slot's if the group fits below its cap (so a slot log never passes it: an edge reads
    -- at most that much of it), else the minute's
    if ls ~= run_slot then
      run_slot = ls
      if size(ld) + (linebytes[ld] or 0) < DAY_CAP then
        run_target = ld
      elseif size(lh) + (linebytes[lh] or 0) < HOUR_CAP then
        run_target = lh
      else
        run_target = ls
      end
    end
    local target, levels
    if run_target == ld then
      target, levels = ld, {tonumber(dk), 1}
    elseif run_target == lh then
      target, levels = lh, {tonumber(hk), tonumber(dk), 1}
    elseif size(ls) + (linebytes[ls] or 0) + #text < SLOT_CAP then
      target, levels = ls, {tonumber(sk), tonumber(hk), tonumber(dk), 1}
    else
      target, levels = lm, {tonumber(mk), tonumber(sk), tonumber(hk), tonumber(dk), 1}
      minutes[minute] = true
    end
    -- a day (hour) whose log was written before is in its index already (by the same script)
    if target == ld then
      for i = first + 1, last + 1 do inday[i] = true end
    end
    if target ~= ld and size(lh) == 0 then hours[hour] = true end
    if size(ld) == 0 then days[day] = true end
    local list = lines[target]
    if list == nil then list = {}; lines[target] = list end
    list[#list + 1] = text
    if FEED then  -- the live feed's lines of the group's new events: '<day>\t<log line>'
      feedlines[#feedlines + 1] = day .. '\t' .. (string.gsub(text, '\n', '\n' .. day .. '\t'))
    end
    linebytes[target] = (linebytes[target] or 0) + #text + 1
    for _, k in ipairs(levels) do
      local bycell = acc[k]
      if bycell == nil then bycell = {}; acc[k] = bycell end
      for cell, s in pairs(sums) do
        local a = bycell[cell]
        if a == nil then
          bycell[cell] = {s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9]}
        else
          add(a, s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9])
        end
      end
    end
  end
end

-- ------------------------------------------------ phase 3: bounds, against the stored cells
-- Schema 5: a period rollup's (D:, h:, s:, m:) cell is "n qty usd t0 t1", the sums as plain
-- decimal text (shortest form) and the times as ms after the period's start (from the key's
-- name); the cumulative rollup keeps "n qi q1 q2 ui u1 u2 t0 t1" (epoch ms).
local PERIOD = {D = 86400000, h = 3600000, s = 600000, m = 60000}
local CELL5 = '^(%d+) (%d+)%.?(%d*) (%d+)%.?(%d*) (%d+) (%d+)$'
local function limbs(whole, frac)  -- ('12', '015') -> 12, 15000000, 0
  frac = frac .. string.rep('0', 18 - #frac)
  return tonumber(whole), tonumber(string.sub(frac, 1, 9)), tonumber(string.sub(frac, 10))
end
local function dec(whole, hi, lo)  -- the whole part's text and two limbs -> '12.015'
  local frac = string.gsub(string.format('%09.0f%09.0f', hi, lo), '0+$', '')
  if frac == '' then return whole end
  return whole .. '.' .. frac
end
local cellwrites = {}  -- key index -> {field, value, field, value, ...}
for k, bycell in pairs(acc) do
  local out, names = {}, {}
  local kind, num = string.match(KEYS[k], ':(%a):(%d+)$')
  local base = kind and tonumber(num) * PERIOD[kind]
  for cell in pairs(bycell) do names[#names + 1] = cell end
  local held = redis.call('HMGET', KEYS[k], unpack(names))  -- one read per rollup hash
  for j, cell in ipairs(names) do
    local a, cur = bycell[cell], held[j]
    if cur and base then
      local c, qi, qf, ui, uf, t0, t1 = string.match(cur, CELL5)
      local qw, q1, q2 = limbs(qi, qf)
      local uw, u1, u2 = limbs(ui, uf)
      add(a, tonumber(c), qw, q1, q2, uw, u1, u2, base + tonumber(t0), base + tonumber(t1))
    elseif cur then
      local c, qi, q1, q2, ui, u1, u2, t0, t1 = string.match(cur, CELL)
      add(a, tonumber(c), tonumber(qi), tonumber(q1), tonumber(q2), tonumber(ui), tonumber(u1),
          tonumber(u2), tonumber(t0), tonumber(t1))
    end
    if a[2] > LIMIT or a[5] > LIMIT then
      return redis.error_reply('LIQCLI-LIMIT ' .. KEYS[k] .. ' ' .. cell ..
        ': a sum would exceed 2^53-1 whole units; the batch was refused, nothing was written')
    end
    out[#out + 1] = cell
    if base then
      out[#out + 1] = fmt(a[1]) .. ' ' .. dec(fmt(a[2]), a[3], a[4]) .. ' '
        .. dec(fmt(a[5]), a[6], a[7])
        .. ' ' .. fmt(a[8] - base) .. ' ' .. fmt(a[9] - base)
    else
      out[#out + 1] = fmt(a[1]) .. ' ' .. fmt(a[2]) .. ' ' .. fmt(a[3]) .. ' ' .. fmt(a[4]) .. ' '
        .. fmt(a[5]) .. ' ' .. fmt(a[6]) .. ' ' .. fmt(a[7]) .. ' ' .. fmt(a[8]) .. ' ' .. fmt(a[9])
    end
  end
  cellwrites[k] = out
end

-- ------------------------------------------------ phase 4: all writes
for k, f in pairs(fresh) do
  redis.call('SET', KEYS[k], current(k) .. f)
end
for k, list in pairs(lines) do
  local old = ''
  if size(k) > 0 then old = redis.call('GET', KEYS[k]) end  -- (STRLEN of a minute log: 0 or not)
  if old == '' then
    redis.call('SET', KEYS[k], table.concat(list, '\n'))
  else
    redis.call('SET', KEYS[k], old .. '\n' .. table.concat(list, '\n'))
  end
end
for k, out in pairs(cellwrites) do
  redis.call('HSET', KEYS[k], unpack(out))
end
for day in pairs(days) do
  redis.call('ZADD', KEYS[2], 'NX', day, day)
end
for hour in pairs(hours) do
  redis.call('ZADD', KEYS[3], 'NX', hour, hour)
end
for minute in pairs(minutes) do
  redis.call('ZADD', KEYS[MNS], 'NX', minute, minute)
end
-- ==== top-K block (liqcli top) =============================================================
-- Its ARGV follow the groups and the live feed's two: T = 10 + 4G.
-- ARGV[T] = one line per event (in event order, as the identities), tab-separated: KEYS
--   indexes of the day-USD and day-qty sorted sets (appended after every other key), the USD
--   and qty scores (schema 4: monotonic integers of the amounts, liqcli.store.topk), then the
--   member (ms after the day's start, exchange, L/S, price, qty, usd,
--   id: exact text). Days only: a window's partial edge days are read from the log.
-- ARGV[T + 1] = K. Only events this batch stored as new AND placed outside their day log (in
--   an hour or slot log) are added (schema 3): readers add a whole day's day log (below the
--   day cap) to its sets, so a sparse day, wholly in its day log, has none. A set keeps the
--   members scoring at least the K-th largest score of (its members and the batch's new
--   ones): the score is monotonic in the amount, so whatever it drops is exactly smaller than K
--   members it keeps (ties are never split). A set that dropped anything also holds the
--   member '~' with score -inf: it may miss events (filters). Schema 4: the cut is taken in
--   the script BEFORE any write (stored members below it removed first, then only the batch's
--   members at or above it added), so a set never holds more than K + ties + 1 members and
--   stays a listpack (Redis converts a sorted set above 128 members to a skiplist and never
--   back; members are kept below 64 bytes by the day-relative time).
local T = 10 + 4 * G
local TOPK = tonumber(ARGV[T + 1])
local TPAT = '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$'
-- calls fn(line) for the line of ARGV ``data`` of each event this batch stored as new outside
-- its day log
local function each_new(data, fn)
  local pos = 1
  for i = 1, n do
    local stop = string.find(data, '\n', pos, true) or (#data + 1)
    if flags[i] == '1' and not inday[i] then fn(string.sub(data, pos, stop - 1)) end
    pos = stop + 1
  end
end
local tadd = {}
local function tpush(k, score, member)
  local list = tadd[k]
  if list == nil then list = {}; tadd[k] = list end
  list[#list + 1] = {tonumber(score), score, member}
end
each_new(ARGV[T], function(line)
  local du, dq, su, sq, member = string.match(line, TPAT)
  tpush(tonumber(du), su, member)
  tpush(tonumber(dq), sq, member)
end)
local function zadd(k, out)
  for j = 1, #out, 1000 do
    redis.call('ZADD', KEYS[k], unpack(out, j, math.min(j + 999, #out)))
  end
end
for k, list in pairs(tadd) do
  -- Two shortcuts leave a set as the general path below would, without reading its members:
  -- a set that stays within K members with the batch's (a day's first events outside its day
  -- log) takes them all (a member already there is re-added with its own score: no change);
  -- a full set whose K-th largest score is above every batch member (a busy day, most of the
  -- time) takes none and gets the mark (ZREMRANGEBYSCORE as below: a set written by this
  -- script holds no member below its K-th score but the mark)
  local card = redis.call('ZCARD', KEYS[k])
  local probe, kth = nil, nil
  if card + #list > TOPK then
    probe = redis.call('ZREVRANGE', KEYS[k], TOPK - 1, TOPK - 1, 'WITHSCORES')
    kth = probe[1] ~= nil and probe[1] ~= '~' and tonumber(probe[2]) or nil
  end
  if kth ~= nil then
    for _, c in ipairs(list) do
      if c[1] >= kth then kth = nil; break end
    end
  end
  if probe == nil then
    local out = {}
    for _, c in ipairs(list) do
      out[#out + 1] = c[2]
      out[#out + 1] = c[3]
    end
    zadd(k, out)
  elseif kth ~= nil then
    redis.call('ZREMRANGEBYSCORE', KEYS[k], '(-inf', '(' .. probe[2])
    redis.call('ZADD', KEYS[k], '-inf', '~')
  else
    local held = redis.call('ZRANGE', KEYS[k], 0, -1, 'WITHSCORES')
    local present, scores, trimmed = {}, {}, false
    for j = 1, #held, 2 do
      if held[j] == '~' then
        trimmed = true
      else
        present[held[j]] = true
        scores[#scores + 1] = tonumber(held[j + 1])
      end
    end
    local stored = #scores
    -- (ZRANGE: ascending) a batch member below the stored K-th largest score is out already
    local floor = stored >= TOPK and scores[stored - TOPK + 1] or nil
    local fresh = {}
    for _, c in ipairs(list) do
      if floor ~= nil and c[1] < floor then
        trimmed = true
      elseif not present[c[3]] then  -- (a member is never added twice)
        present[c[3]] = true
        fresh[#fresh + 1] = c
        scores[#scores + 1] = c[1]
      end
    end
    local cut = nil
    if #scores > TOPK then
      table.sort(scores)  -- (ascending, the built-in order: no Lua comparator calls)
      cut = scores[#scores - TOPK + 1]
      if scores[1] < cut then trimmed = true end
    end
    if cut ~= nil and stored > 0 and trimmed then
      -- every stored member below the cut (and the mark, re-added below)
      redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', '(' .. string.format('%.17g', cut))
    end
    local out = {}
    for _, c in ipairs(fresh) do
      if cut == nil or c[1] >= cut then
        out[#out + 1] = c[2]
        out[#out + 1] = c[3]
      end
    end
    zadd(k, out)
    if trimmed then redis.call('ZADD', KEYS[k], '-inf', '~') end
  end
end
-- ==== end of the top-K block ================================================================
-- ==== price-band block (liqcli levels) ====================================================
-- ARGV[T + 2] = one line per event (in event order), tab-separated: the KEYS index of the
--   day's price bands (appended after the top-K keys), the bucket '<fine bucket>|L|S', then
--   the qty limbs and the usd limbs (integer, 1e-9, 1e-18 units).
-- Schema 4: a day's price bands are ONE string, one line per bucket and side,
-- '<fine bucket>|L|S <n> <qty> <usd>' ("\n"-separated, in no particular order), the sums as
-- exact plain decimal text (shortest: no trailing fractional zeros). A string costs its text
-- alone, where a hash above 128 fields (a busy symbol's day) takes ~90 bytes a field. The
-- batch's sums are added per event as limbs (integer limbs as decimal strings, fractional ones
-- as doubles: at most 5000 events below 1e9, exact), carried, turned into decimal text once
-- per bucket and added to the stored text (fractional digits aligned, integer addition:
-- doubles below 1e15, digit by digit beyond); the string is read and written back whole
-- (O(the day's buckets) per batch). Only events this batch stored as new outside their day
-- log are counted (like the top-K block).
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
-- the exact sum of two plain non-negative decimal texts ('12', '0.015'), in its shortest form:
-- the fractional digits aligned, both added as one integer (bigadd: doubles below 1e15, digit
-- by digit beyond), the point put back
local function decadd(a, b)
  local ai, af = string.match(a, '^(%d*)%.?(%d*)$')
  local bi, bf = string.match(b, '^(%d*)%.?(%d*)$')
  local f = math.max(#af, #bf)
  local sum = bigadd(ai .. af .. string.rep('0', f - #af), bi .. bf .. string.rep('0', f - #bf))
  if f == 0 then return sum end
  if #sum <= f then sum = string.rep('0', f - #sum + 1) .. sum end
  local whole, frac = string.sub(sum, 1, #sum - f), string.gsub(string.sub(sum, #sum - f + 1), '0+$', '')
  if frac == '' then return whole end
  return whole .. '.' .. frac
end
-- limbs (integer, 1e-9, 1e-18) of qty and usd in {n, qi, q1, q2, ui, u1, u2}
local LIMBS = {{2, 3, 4}, {5, 6, 7}}
-- (lo, hi) of two fractional limbs -> normalized (lo, hi) and the units carried to the whole
local function carry(lo, hi)
  hi = hi + math.floor(lo / 1e9)
  return lo % 1e9, hi % 1e9, math.floor(hi / 1e9)
end
local PPAT = '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$'
local pacc = {}
each_new(ARGV[T + 2], function(line)
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
-- a batch's limb sums -> their plain decimal text (carried first)
local function limbs_text(a, l)
  local lo, hi, up = carry(a[l[3]], a[l[2]])
  local whole = a[l[1]]
  if up > 0 then whole = bigadd(whole, string.format('%.0f', up)) end
  return dec(whole, hi, lo)
end
for k, byfield in pairs(pacc) do
  local out = {}
  local stored_bands = redis.call('GET', KEYS[k])
  local sums = {}
  for field, a in pairs(byfield) do
    sums[field] = {a[1], limbs_text(a, LIMBS[1]), limbs_text(a, LIMBS[2])}
  end
  if stored_bands then
    -- only the batch's buckets' lines are found (a plain search) and rewritten in place: the
    -- rest of the day's text is copied, not parsed
    local text = '\n' .. stored_bands
    local edits = {}
    for field, a in pairs(sums) do
      local at = string.find(text, '\n' .. field .. ' ', 1, true)
      if at then
        local stop = string.find(text, '\n', at + 1, true) or (#text + 1)
        local count, qty, usd = string.match(string.sub(text, at + #field + 2, stop - 1),
          '^(%d+) (%S+) (%S+)$')
        edits[#edits + 1] = {at, stop, field .. ' ' .. string.format('%.0f', tonumber(count) + a[1])
          .. ' ' .. decadd(qty, a[2]) .. ' ' .. decadd(usd, a[3])}
        sums[field] = nil
      end
    end
    table.sort(edits, function(x, y) return x[1] < y[1] end)
    local pos = 2
    for _, e in ipairs(edits) do
      out[#out + 1] = string.sub(text, pos, e[1])  -- up to the line's preceding newline
      out[#out + 1] = e[3]
      pos = e[2]
    end
    out[#out + 1] = string.sub(text, pos)
  end
  for field, a in pairs(sums) do
    local line = field .. ' ' .. string.format('%.0f', a[1]) .. ' ' .. a[2] .. ' ' .. a[3]
    out[#out + 1] = #out > 0 and '\n' .. line or line
  end
  redis.call('SET', KEYS[k], table.concat(out))
end
-- ==== end of the price-band block ===========================================================

-- >>> live feed (liqcli tail / alert; liqcli/store/feed.py) ------------------------------------
-- ARGV[8 + 4G] = KEYS index of <prefix>:{SYM}:feed, ARGV[9 + 4G] = "<maxlen> <keep ms>": its
-- approximate MAXLEN (entries) and how long an entry is kept after it was added. One entry per
-- call holding the call's NEW events only (phase 1 decided), each line '<day>\t<log line>' in
-- the call's order (by minute). Reached only after phase 4, in this same atomic call:
-- the feed holds an event exactly when the store does, for <keep ms> after it was stored (or
-- until <maxlen> newer entries came). Entries older than that are trimmed (MINID, exact) and the
-- key expires <keep ms> after its last entry: the feed is a buffer for followers, not a second
-- copy of the store (a bulk ingest would otherwise keep up to <maxlen> calls of every symbol).
if FEED and dups < n then
  local out = feedlines  -- (built in phase 2, in the call's order)
  local maxlen, keep = string.match(ARGV[F + 1], '^(%d+) (%d+)$')
  local feed = KEYS[tonumber(ARGV[F])]
  local id = redis.call('XADD', feed, 'MAXLEN', '~', maxlen, '*', 'v', table.concat(out, '\n'))
  local ms = tonumber(string.match(id, '^(%d+)'))
  redis.call('XTRIM', feed, 'MINID', string.format('%.0f', ms - tonumber(keep)))
  redis.call('PEXPIRE', feed, keep)
end
-- <<< live feed ---------------------------------------------------------------------------------
return table.concat(flags)
