package valkey

import "github.com/valkey-io/valkey-go"

// The store's Lua scripts. Each touches the keys of one hash tag only (one
// channel, or one tenant's devices), so it runs on one shard of a Cluster.
// Numbers that must stay exact (device times in µs, offsets) are passed as
// decimal strings and stored as given; Lua only compares them (a double is
// exact up to 2^53, which µs since 1970 stay far below).

// storeAppendScript appends one publication: it creates the channel's
// epoch when the meta hash is missing (expired, evicted, flushed), assigns
// the next offset, appends to the stream with the explicit id
// "<offset>-1", trims the stream's oldest entries past the channel's size
// or past its byte limit (the newest is always kept; the meta hash keeps
// the data bytes of the stream in "bytes"), refreshes both TTLs and
// publishes the frame on the channel's sharded topic. One round trip,
// atomic: every node sees the same order and offsets.
//
// KEYS: meta, stream. ARGV: topic, fresh epoch, time (unix ms), data,
// max length, history TTL (ms), meta TTL (ms), max bytes. Returns {epoch,
// offset}.
var storeAppendScript = valkey.NewLuaScript(`
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local created = 0
if not epoch then
  epoch = ARGV[2]
  created = 1
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'offset', '0')
end
local n = redis.call('XLEN', KEYS[2])
local bytes = 0
if n > 0 then bytes = tonumber(redis.call('HGET', KEYS[1], 'bytes')) or 0 end
local off = redis.call('HINCRBY', KEYS[1], 'offset', 1)
local soff = string.format('%d', off)
redis.call('XADD', KEYS[2], soff .. '-1', 't', ARGV[3], 'd', ARGV[4])
n = n + 1
bytes = bytes + #ARGV[4]
local maxlen, maxbytes = tonumber(ARGV[5]), tonumber(ARGV[8])
while n > maxlen or (bytes > maxbytes and n > 1) do
  local e = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
  redis.call('XDEL', KEYS[2], e[1])
  bytes = bytes - #e[2][4]
  n = n - 1
end
if bytes < 0 then bytes = 0 end
redis.call('HSET', KEYS[1], 'bytes', bytes)
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('SPUBLISH', ARGV[1], '1 ' .. epoch .. ' ' .. soff .. ' ' .. ARGV[3] .. '\n' .. ARGV[4])
return {epoch, off, created}
`)

// storeChannelsScript records a channel created in a tenant (the append
// script said so) in the tenant's channel index, drops index entries older
// than the meta TTL (their keys expired), and returns the channels past
// the tenant's limit, oldest first, removed from the index: the caller
// deletes their keys (other hash tags, so other shards).
//
// KEYS: the tenant's channel index. ARGV: channel, now (unix ms), meta TTL
// (ms), max channels.
var storeChannelsScript = valkey.NewLuaScript(`
local now, ttl, max = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%d', now - ttl))
redis.call('PEXPIRE', KEYS[1], ttl)
local over = redis.call('ZCARD', KEYS[1]) - max
if over <= 0 then return {} end
local out = {}
local popped = redis.call('ZPOPMIN', KEYS[1], over)
for i = 1, #popped, 2 do
  if popped[i] ~= ARGV[1] then out[#out + 1] = popped[i] end
end
return out
`)

// storeSinceScript reads a channel's position and every publication after
// a position in one atomic step. It creates nothing.
//
// KEYS: meta, stream. ARGV: epoch, offset, now (unix ms), history TTL (ms).
// Returns {epoch, offset, ok, id1, t1, d1, id2, ...}; epoch is "" when the
// channel has no meta.
var storeSinceScript = valkey.NewLuaScriptReadOnly(`
local m = redis.call('HMGET', KEYS[1], 'epoch', 'offset')
local epoch = m[1] or ''
local off = tonumber(m[2]) or 0
local since = tonumber(ARGV[2])
if ARGV[1] ~= epoch or since > off then return {epoch, off, 0} end
if since == off then return {epoch, off, 1} end
local es = redis.call('XRANGE', KEYS[2], string.format('%d-0', since + 1), '+')
if #es ~= off - since then return {epoch, off, 0} end
local oldest = tonumber(ARGV[3]) - tonumber(ARGV[4])
local out = {epoch, off, 1}
for _, e in ipairs(es) do
  local f = e[2]
  if tonumber(f[2]) < oldest then return {epoch, off, 0} end
  out[#out + 1] = e[1]
  out[#out + 1] = f[2]
  out[#out + 1] = f[4]
end
return out
`)

// storeHistoryScript answers a state.HistoryQuery with the semantics of the
// memory store (state/history.go query): offset bounds, time bounds, a
// limit, forward or reverse, and whether the page is complete.
//
// KEYS: meta, stream. ARGV: has since ("1"/"0"), since epoch, since offset,
// before (0: none), from (unix ms, "" none; entries at or after), until
// (unix ms, "" none; entries at or before), limit, reverse ("1"/"0"), now
// (unix ms), history TTL (ms). Returns {epoch, offset, complete, id1, t1,
// d1, ...}.
var storeHistoryScript = valkey.NewLuaScriptReadOnly(`
local m = redis.call('HMGET', KEYS[1], 'epoch', 'offset')
local epoch = m[1] or ''
local off = tonumber(m[2]) or 0
local complete = 1
local after = 0
if ARGV[1] == '1' then
  if ARGV[2] ~= epoch then complete = 0 else after = tonumber(ARGV[3]) end
end
local before = tonumber(ARGV[4])
local from = tonumber(ARGV[5])
local till = tonumber(ARGV[6])
local limit = tonumber(ARGV[7])
local reverse = ARGV[8] == '1'
local oldest_ok = tonumber(ARGV[9]) - tonumber(ARGV[10])
if not from then
  local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
  local oldest = off + 1
  if #first > 0 then oldest = tonumber(string.match(first[1][1], '^(%d+)')) end
  if oldest > after + 1 and (before == 0 or before > after + 1) then complete = 0 end
end
local out = {epoch, off, complete}
local lo = string.format('%d-0', after + 1)
local hi = '+'
if before > 0 then hi = string.format('%d-1', before - 1) end
local batch = limit + 1
local n = 0
local stop = false
while not stop do
  local es
  if reverse then
    es = redis.call('XREVRANGE', KEYS[2], hi, lo, 'COUNT', batch)
  else
    es = redis.call('XRANGE', KEYS[2], lo, hi, 'COUNT', batch)
  end
  for _, e in ipairs(es) do
    local t = tonumber(e[2][2])
    if (not from or t >= from) and (not till or t <= till) then
      if t < oldest_ok then
        complete = 0
      elseif n == limit then
        complete = 0
        stop = true
        break
      else
        n = n + 1
        out[#out + 1] = e[1]
        out[#out + 1] = e[2][2]
        out[#out + 1] = e[2][4]
      end
    end
  end
  if #es < batch then break end
  if reverse then hi = '(' .. es[#es][1] else lo = '(' .. es[#es][1] end
end
out[3] = complete
return out
`)

// storeApplyScript merges a Reading into its device's hash with the rules
// of state.(*Tenant).Apply. A device id is owned by the source key that
// created it ("sk"): a Reading from another source is refused while the
// device was heard within the identity TTL, and takes the id over with a
// fresh hash after it (a hash without "sk", from before it was stored, is
// adopted). A new device past the tenant's limit is refused. Source,
// stale interval, last seen, family, received_at and tags always update;
// online only when not older (in device time) than the last availability
// change; metrics, attrs and ts only when the Reading is not older than
// the merged state. Device times are unix µs plus the nanoseconds below
// (0-999), compared as a pair.
//
// Limits, each refusing only the field concerned: a metric or attr the
// device does not have yet past max fields ("nf" counts them; a hash
// without it is counted once), and a decoded tag pair that would make the
// tenant's tag hash (pair "k\0v" -> number of devices holding it) longer
// than max tags. Configured tags count but are never refused.
//
// A device of a source held by its coordinator (KEYS[4], HoldSource) is
// marked held and stale, and parked at +inf in the index: it was announced
// stale when the source was held, and the release sets its score anew.
//
// KEYS: device hash, device index, tenant tag hash, held sources. ARGV: id, family, ts
// µs, ts ns, received (RFC 3339), last seen µs, stale after µs, source,
// topic, online ("", "0", "1"), max devices, index score, number of
// decoded tag fields, number of metric and attr fields, source key,
// identity TTL µs, max fields, max tags, number of configured tag fields,
// then the fields and values: decoded tags ("t:k", v, ...), configured
// tags, metrics and attrs ("m:k"/"a:k", v, ...). Returns {code, held,
// refused field...}: code 1 when the device was created, 0 when it
// existed, -1 past the device limit, -2 owned by another source; held 1
// when the device's source is held; the refused fields are named as in
// ARGV ("t:k", "m:k", "a:k").
var storeApplyScript = valkey.NewLuaScript(`
local key, idx, tagsk, id = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
local sk = ARGV[15]
local function pair(k, v) return k .. '\0' .. v end
local function untag(k, v)
  if redis.call('HINCRBY', tagsk, pair(k, v), -1) <= 0 then redis.call('HDEL', tagsk, pair(k, v)) end
end
local created = 0
local exists = redis.call('EXISTS', key) == 1
if exists then
  local cur = redis.call('HMGET', key, 'sk', 'seen')
  if cur[1] and cur[1] ~= '' and cur[1] ~= sk then
    if tonumber(ARGV[6]) - (tonumber(cur[2]) or 0) <= tonumber(ARGV[16]) then return {-2} end
    local h = redis.call('HGETALL', key)
    for i = 1, #h, 2 do
      if string.sub(h[i], 1, 2) == 't:' then untag(string.sub(h[i], 3), h[i + 1]) end
    end
    redis.call('DEL', key)
    exists = false
  end
end
if not exists then
  if not redis.call('ZSCORE', idx, id) and redis.call('ZCARD', idx) >= tonumber(ARGV[11]) then
    return {-1}
  end
  redis.call('HSET', key, 'id', id, 'ts', ARGV[3], 'tsn', ARGV[4], 'nf', '0')
  created = 1
end
local function hset(list)
  for i = 1, #list, 256 do
    redis.call('HSET', key, unpack(list, i, math.min(i + 255, #list)))
  end
end
local function older(a, an, b, bn)
  return a < b or (a == b and an < bn)
end
redis.call('HSET', key, 'fam', ARGV[2], 'rcv', ARGV[5], 'seen', ARGV[6], 'sa', ARGV[7], 'src', ARGV[8], 'sk', sk, 'stale', '0')
local coord = redis.call('HGET', KEYS[4], sk)
local held = 0
if coord and coord ~= id then
  held = 1
  redis.call('HSET', key, 'held', '1', 'stale', '1')
else
  redis.call('HDEL', key, 'held')
end
local ndec, nrest, nconf = tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[19])
local first = 20
local refused = {}
local maxtags = tonumber(ARGV[18])
local function settag(i, capped)
  local f, v = ARGV[i], ARGV[i + 1]
  local k = string.sub(f, 3)
  local cur = redis.call('HGET', key, f)
  if cur == v then return end
  if capped and not (cur and tonumber(redis.call('HGET', tagsk, pair(k, cur))) == 1)
      and redis.call('HEXISTS', tagsk, pair(k, v)) == 0 and redis.call('HLEN', tagsk) >= maxtags then
    refused[#refused + 1] = f
    return
  end
  if cur then untag(k, cur) end
  redis.call('HINCRBY', tagsk, pair(k, v), 1)
  redis.call('HSET', key, f, v)
end
for i = first, first + ndec - 1, 2 do settag(i, true) end
for i = first + ndec, first + ndec + nconf - 1, 2 do settag(i, false) end
local nf = tonumber(redis.call('HGET', key, 'nf'))
if not nf then
  nf = 0
  for _, f in ipairs(redis.call('HKEYS', key)) do
    local p = string.sub(f, 1, 2)
    if p == 'm:' or p == 'a:' then nf = nf + 1 end
  end
end
local maxf = tonumber(ARGV[17])
local keep, added = {}, 0
for i = first + ndec + nconf, first + ndec + nconf + nrest - 1, 2 do
  local known = redis.call('HEXISTS', key, ARGV[i]) == 1
  if known or nf + added < maxf then
    if not known then added = added + 1 end
    keep[#keep + 1] = ARGV[i]
    keep[#keep + 1] = ARGV[i + 1]
  else
    refused[#refused + 1] = ARGV[i]
  end
end
local topic = ARGV[9]
if topic ~= '' then
  local cur = redis.call('HGET', key, 'topics')
  local list = {topic}
  if cur and cur ~= '' then
    local i = 1
    while #list < 8 do
      local j = string.find(cur, '\0', i, true)
      local t
      if j then t = string.sub(cur, i, j - 1) else t = string.sub(cur, i) end
      if t ~= topic then list[#list + 1] = t end
      if not j then break end
      i = j + 1
    end
  end
  redis.call('HSET', key, 'topics', table.concat(list, '\0'))
end
local ts, tsn = tonumber(ARGV[3]), tonumber(ARGV[4])
if ARGV[10] ~= '' then
  local o = redis.call('HMGET', key, 'ots', 'otsn')
  if not o[1] or not older(ts, tsn, tonumber(o[1]), tonumber(o[2])) then
    redis.call('HSET', key, 'on', ARGV[10], 'ots', ARGV[3], 'otsn', ARGV[4])
  end
end
local cur = redis.call('HMGET', key, 'ts', 'tsn')
if not older(ts, tsn, tonumber(cur[1]), tonumber(cur[2])) then
  redis.call('HSET', key, 'ts', ARGV[3], 'tsn', ARGV[4])
  hset(keep)
  nf = nf + added
end
redis.call('HSET', key, 'nf', nf)
if held == 1 then
  redis.call('ZADD', idx, '+inf', id)
else
  redis.call('ZADD', idx, ARGV[12], id)
end
local out = {created, held}
for _, f in ipairs(refused) do out[#out + 1] = f end
return out
`)

// storeSweepScript marks up to a limit of a tenant's devices stale whose
// stale time has passed and parks them at +inf in the index until they
// speak again (Apply sets their score anew).
//
// KEYS: device index. ARGV: now (unix µs), device key prefix, limit.
// Returns {taken, id1, {hash fields...}, id2, ...}: how many it took from
// the index, then the devices that just became stale.
var storeSweepScript = valkey.NewLuaScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {#ids}
for _, id in ipairs(ids) do
  local key = ARGV[2] .. id
  redis.call('ZADD', KEYS[1], '+inf', id)
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'stale', '1')
    out[#out + 1] = id
    out[#out + 1] = redis.call('HGETALL', key)
  end
end
return out
`)

// storeHoldScript holds (ARGV[3] "1") or releases a source's devices among
// the ids given (a batch of the tenant's index, state.SourceHolder): a
// device of the source (field sk) other than the coordinator whose held
// flag changes is marked; held means stale and parked at +inf in the
// index; released, a device silent past its interval stays stale and
// parked (it was announced stale), another is fresh and scored by when it
// goes stale, as Apply does. The held-sources hash is set or cleared
// first.
//
// KEYS: held sources, device index. ARGV: source key, coordinator id,
// hold, now (unix µs), device key prefix, ids... Returns {id1, {hash
// fields...}, ...}: the devices whose stale flag changed.
var storeHoldScript = valkey.NewLuaScript(`
local sk, coord, hold, now, prefix = ARGV[1], ARGV[2], ARGV[3] == '1', tonumber(ARGV[4]), ARGV[5]
if hold then redis.call('HSET', KEYS[1], sk, coord) else redis.call('HDEL', KEYS[1], sk) end
local out = {}
for i = 6, #ARGV do
  local id = ARGV[i]
  local key = prefix .. id
  local h = redis.call('HMGET', key, 'sk', 'held', 'stale', 'seen', 'sa')
  if h[1] == sk and id ~= coord and (h[2] == '1') ~= hold then
    local sa, seen = tonumber(h[5]) or 0, tonumber(h[4]) or 0
    local silent = sa > 0 and now - seen > sa
    if hold then
      redis.call('HSET', key, 'held', '1')
    else
      redis.call('HDEL', key, 'held')
    end
    local stale = hold or silent
    if stale then
      redis.call('ZADD', KEYS[2], '+inf', id)
    elseif sa > 0 then
      redis.call('ZADD', KEYS[2], seen + sa, id)
    end
    if stale ~= (h[3] == '1') then
      redis.call('HSET', key, 'stale', stale and '1' or '0')
      out[#out + 1] = id
      out[#out + 1] = redis.call('HGETALL', key)
    end
  end
end
return out
`)
