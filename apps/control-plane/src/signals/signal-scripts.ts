/**
 * The Lua scripts that keep risk signals in Redis, each run atomically (so two replicas never
 * count one event twice nor recompute one value twice). KEYS[1] is the key prefix
 * (`<STEPGATE_REDIS_PREFIX>:signals`); every key below it:
 *
 * - `v:<name>:<subject>`  sorted set, the events in the window: event ids by time (count,
 *   exists), or field values (as JSON) by the latest time seen (last, distinct). Pruned to the
 *   window and capped at `cap` members (oldest dropped: counts saturate there); expires with
 *   the window.
 * - `cur:<subject>`        hash name -> {v: value as JSON, e: expiresAt, s: seq}: the values last
 *   pushed to agents, read for snapshots; expires with its latest value.
 * - `subjects`             sorted set of subjects by their latest expiresAt (snapshot index).
 * - `due`                  sorted set of `<name>:<subject>` by when its value next changes with
 *   no new event (the oldest event leaving the window); the sweeper claims what is due.
 * - `seq`                  the global sequence of pushed values; never goes back (see nextSeq).
 * - `seen:<hash>`          an event id, remembered while the event is in the window of a signal
 *   it feeds (deduplication; ~100 bytes per event with an id). Counting is idempotent per id
 *   anyway (a counted event's member is its id's hash), so this mostly tells `duplicates`.
 *
 * A script that changes a value returns it as {name, subject, value JSON, expiresAt, seq}: a
 * value back to zero with expiresAt = now, so agents drop it.
 */

/** Shared by the scripts: recompute one (signal, subject) and record it if it changed. */
const REFRESH = `
local P = KEYS[1]
local function num(x) return string.format('%.0f', x) end
local ZERO = { count = '0', distinct = '0', exists = 'false', last = 'null' }

-- The next seq. Agents keep the highest seq per value, so it must never go back: when Redis lost
-- it (a restart without persistence, a flush) it restarts from Redis's clock in microseconds,
-- above anything issued before unless more than a million values a second were pushed.
local function nextSeq()
  local key = P .. ':seq'
  if redis.call('EXISTS', key) == 0 then
    local t = redis.call('TIME')
    redis.call('SET', key, num(tonumber(t[1]) * 1000000 + tonumber(t[2])))
  end
  return redis.call('INCR', key)
end

local function refresh(name, subject, aggregate, windowMs, now, cap)
  local member = name .. ':' .. subject
  local key = P .. ':v:' .. member
  redis.call('ZREMRANGEBYSCORE', key, '-inf', num(now - windowMs))
  local n = redis.call('ZCARD', key)
  if n > cap then
    redis.call('ZREMRANGEBYRANK', key, 0, n - cap - 1)
    n = cap
  end
  local curKey = P .. ':cur:' .. subject
  local held = redis.call('HGET', curKey, name)
  if n == 0 then
    redis.call('DEL', key)
    redis.call('ZREM', P .. ':due', member)
    if not held then return nil end
    redis.call('HDEL', curKey, name)
    local seq = nextSeq()
    return { name, subject, ZERO[aggregate], num(now), seq }
  end
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  local expiresAt = tonumber(newest[2]) + windowMs
  local value
  if aggregate == 'count' or aggregate == 'distinct' then
    value = tostring(n)
  elseif aggregate == 'exists' then
    value = 'true'
  else
    value = newest[1]
  end
  local nextChange = expiresAt
  if aggregate == 'count' or aggregate == 'distinct' then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    nextChange = tonumber(oldest[2]) + windowMs
  end
  redis.call('PEXPIREAT', key, num(expiresAt))
  redis.call('ZADD', P .. ':due', num(nextChange), member)
  local e = num(expiresAt)
  if held then
    local h = cjson.decode(held)
    if h.v == value and h.e == e then return nil end
  end
  local seq = nextSeq()
  redis.call('HSET', curKey, name, cjson.encode({ v = value, e = e, s = seq }))
  -- PTTL rather than PEXPIRETIME (Redis 7): ZADD GT needs 6.2, nothing here needs more.
  local ttl = redis.call('PTTL', curKey)
  local clock = redis.call('TIME')
  local redisNow = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  if ttl < 0 or redisNow + ttl < expiresAt then redis.call('PEXPIREAT', curKey, e) end
  redis.call('ZADD', P .. ':subjects', 'GT', e, subject)
  return { name, subject, value, e, seq }
end
`;

/**
 * ARGV[1]: JSON {now, cap, events: PlannedEvent[]}. Adds each event not seen before (by id) to
 * the signals it feeds, then recomputes every (signal, subject) it touched. An event already
 * out of every window it would count in changes nothing (and is not remembered).
 * Returns {duplicates, changed[]}.
 */
export const INGEST_SCRIPT = `${REFRESH}
local input = cjson.decode(ARGV[1])
local now = input.now
local duplicates = 0
local touched = {}
local order = {}
for _, e in ipairs(input.events) do
  local remember = 0
  for _, u in ipairs(e.u) do
    if e.t + u.w - now > remember then remember = e.t + u.w - now end
  end
  local fresh = remember > 0
  if fresh and e.id then
    if not redis.call('SET', P .. ':seen:' .. e.id, '1', 'NX', 'PX', num(math.ceil(remember))) then
      fresh = false
      duplicates = duplicates + 1
    end
  end
  if fresh then
    for _, u in ipairs(e.u) do
      if e.t > now - u.w then
        local member = u.n .. ':' .. e.s
        if u.a == 'count' or u.a == 'exists' then
          redis.call('ZADD', P .. ':v:' .. member, num(e.t), u.m)
        else
          redis.call('ZADD', P .. ':v:' .. member, 'GT', num(e.t), u.m)
        end
        if not touched[member] then
          touched[member] = true
          order[#order + 1] = { u.n, e.s, u.a, u.w }
        end
      end
    end
  end
end
local changed = {}
for _, t in ipairs(order) do
  local c = refresh(t[1], t[2], t[3], t[4], now, input.cap)
  if c then changed[#changed + 1] = c end
end
return { duplicates, changed }
`;

/**
 * ARGV[1]: JSON {now, cap, limit, signals: {name: {a, w}}}. Claims up to `limit` due
 * (signal, subject) entries (range and remove in one step: one replica gets each) and
 * recomputes them; an entry whose signal is no longer declared is dropped. Also forgets
 * subjects whose values all expired. Returns {claimed, changed[]}.
 */
export const SWEEP_SCRIPT = `${REFRESH}
local input = cjson.decode(ARGV[1])
local now = input.now
local due = redis.call('ZRANGEBYSCORE', P .. ':due', '-inf', num(now), 'LIMIT', 0, input.limit)
local changed = {}
for _, member in ipairs(due) do
  redis.call('ZREM', P .. ':due', member)
  local at = string.find(member, ':', 1, true)
  local name = string.sub(member, 1, at - 1)
  local subject = string.sub(member, at + 1)
  local s = input.signals[name]
  if s then
    local c = refresh(name, subject, s.a, s.w, now, input.cap)
    if c then changed[#changed + 1] = c end
  else
    redis.call('DEL', P .. ':v:' .. member)
    redis.call('HDEL', P .. ':cur:' .. subject, name)
  end
end
redis.call('ZREMRANGEBYSCORE', P .. ':subjects', '-inf', num(now))
return { #due, changed }
`;

/**
 * KEYS[1]: the token's counter. ARGV: events, limit, window ms. A fixed window: the request is
 * taken whole when it fits what is left, else refused whole. Returns {allowed 0|1, retry ms}.
 */
export const RATE_LIMIT_SCRIPT = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
if used + n > tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then ttl = tonumber(ARGV[3]) end
  return { 0, ttl }
end
redis.call('INCRBY', KEYS[1], n)
if used == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return { 1, 0 }
`;
