-- liqcli window read (schema 2): rollup hashes and log strings, each as one string.
-- Every key is declared in KEYS. On a Cluster a call reads ONE symbol (its keys share the
-- symbol's hash tag); on a single server one call may read many symbols.
--
-- KEYS[1..ARGV[1]]  rollup hashes (day, hour, slot): each returned as "field\nvalue\n..."
-- KEYS[ARGV[1]+1..] logs (strings of "\n"-separated event lines): returned as they are
-- One string per key instead of many reply elements keeps the client's parsing cheap.

local hashes = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do
  if i <= hashes then
    out[i] = table.concat(redis.call('HGETALL', KEYS[i]), '\n')
  else
    out[i] = redis.call('GET', KEYS[i]) or ''
  end
end
return out
