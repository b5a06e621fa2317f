/**
 * A `CounterStore` on Redis, so gateway replicas share one set of counters (and one budget). Each of `reserve`,
 * `commit` and `read` is one Lua script (EVALSHA, EVAL on NOSCRIPT: redis-client.ts), so the
 * check-then-apply of `reserve` is atomic across replicas; the scripts reproduce the in-memory store step by step
 * (see `createMemoryCounterStore`): same window moves, same clamping, same `ReserveOutcome`.
 *
 * Representation (`<prefix>` is the configured prefix, `tokenledger:` by default; on a Redis Cluster as a hash tag,
 * `{tokenledger:}`, so that every key of the store is in one slot: redis-client.ts): counter `key` is the Redis hash
 * `<prefix>c:<key>` with the fields
 * - `reserved`: the amount held by calls in flight;
 * - `spent`: spend inside the window (the period's total, or the sum of the buckets);
 * - `head`: the period's start (epoch ms), or the newest bucket index `floor(now / bucketMs)`;
 * - `buckets`: the rolling window's bucket count, present only while the counter is rolling;
 * - `b:<index>`: spend in rolling bucket `<index>` (absolute, not modulo), present only when not zero. Buckets that
 *   leave the window are deleted as the head moves.
 * Amounts are non-negative decimal strings without leading zeros ("0" is zero): Lua 5.1 numbers are doubles,
 * exact only to 2^53 (≈ $9,007 in pico-USD), so the scripts add, subtract (clamped at zero) and compare digit
 * strings in chunks of 7 digits. Instants and bucket indexes stay Lua numbers (epoch ms are far below 2^53).
 *
 * Expiry: every write extends (never shortens) the hash's TTL to when its state is surely dead plus `GRACE_MS`
 * (7 days): a period counter's spend dies at the period's end, a rolling counter's when its last bucket leaves
 * (`buckets × bucketMs` after the write); the grace covers reservations still in flight and replicas' clock skew.
 * TTLs are relative to the caller's `now`, so the Redis server's clock plays no part. Counters that stop being
 * written disappear a week after they stop mattering; a live counter is rewritten before it could expire.
 *
 * Holds (per-call reservations the store expires, see `CounterStore`): the sorted set `<prefix>holds` (member: hold
 * id, score: `expiresAt` in epoch ms) plus, per hold, the hash `<prefix>h:<id>` of logical counter key → amount
 * still held (decimal string, only non-zero amounts). Releasing a hold only lowers the counters' `reserved` field,
 * which is not windowed, so a hold needs no window. `reserve` and `read` first release up to `HOLD_SWEEP_MAX`
 * holds with `expiresAt <= now` (ZRANGEBYSCORE, oldest first) in the same script: a counter that no longer exists
 * is skipped, one that does keeps its TTL. A hold's hash lives (TTL) as long as the longest-lived counter it holds
 * on, and at least `GRACE_MS` past its expiry, so it cannot vanish while its reservation could still be counted;
 * `touch` moves its score and TTL later by the same amount. The `holds` set has no TTL: sweeps and commits empty it.
 * These keys are computed inside the scripts (not passed as KEYS); the hash tag keeps them in the slot of the keys
 * that are, and `touch`, which has no counter key, names the `holds` set to be routed there.
 *
 * Claims (`claim`): the string keys `<prefix>claim:<name>`, set once with SET NX and never expired (they mark
 * one-off work done against this Redis, such as seeding the counters from a ledger; a Redis that loses its data
 * loses them with the counters). The `c:` and `claim:` namespaces keep them apart from counters, whatever the key.
 *
 * Limits: one script touches all a call's keys, so a store's keys live on one shard of a cluster (two short scripts
 * per gateway call). Amounts must be non-negative (a negative one rejects). While
 * Redis is unreachable calls reject at once (no offline queue) while the client reconnects; the governor decides
 * what that means. Creating the store rejects when Redis stays unreachable for about 5 s.
 */
import {
  type CounterCommit,
  type CounterHold,
  type CounterLevel,
  type CounterOp,
  type CounterRef,
  type CounterStore,
  type CounterWindow,
  HOLD_SWEEP_MAX,
  type ReserveOutcome,
} from './counter-store.ts';
import { luaScript, openRedis } from './redis-client.ts';

/** How long a counter outlives the moment its state is surely dead. */
export const GRACE_MS = 7 * 24 * 3_600_000;

export interface RedisCounterStoreOptions {
  readonly url: string;
  /** Starts every Redis key; default 'tokenledger:'. */
  readonly prefix?: string;
  /** Connection errors (the client reconnects by itself); default: ignored, since calls reject on their own. */
  readonly onError?: (error: Error) => void;
  /**
   * A call Redis has not answered in this long rejects (default 2000 ms), so a Redis that hangs without closing the
   * connection cannot stall admissions. The script may still run later: a reserve that timed out can leave its
   * amount reserved (as a crashed replica's calls do).
   */
  readonly commandTimeoutMs?: number;
}

/** Shared Lua: decimal-string arithmetic, counter state load/save, window moves. */
const PRELUDE = `
local GRACE_MS = ${GRACE_MS}
local HOLD_SWEEP_MAX = ${HOLD_SWEEP_MAX}
local BASE = 10000000

-- Numbers (instants, bucket indexes) written so that tonumber gives back the same double.
local function fmt(x) return string.format('%.17g', x) end

local function amount(s)
  if type(s) ~= 'string' or not string.find(s, '^%d+$') then error('tokenledger: bad amount ' .. tostring(s)) end
  s = string.gsub(s, '^0+', '')
  if s == '' then return '0' end
  return s
end

local function num(s)
  local x = tonumber(s)
  if x == nil or x ~= x or x == math.huge or x == -math.huge then
    error('tokenledger: bad number ' .. tostring(s))
  end
  return x
end

local function strip(chunks)
  local parts = {}
  for k = #chunks, 1, -1 do parts[#parts + 1] = chunks[k] end
  local s = string.gsub(table.concat(parts), '^0+', '')
  if s == '' then return '0' end
  return s
end

local function chunk(s, i) return tonumber(string.sub(s, math.max(1, i - 6), i)) end

local function add(a, b)
  if a == '0' then return b end
  if b == '0' then return a end
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local x = carry
    if i > 0 then x = x + chunk(a, i) end
    if j > 0 then x = x + chunk(b, j) end
    if x >= BASE then x = x - BASE; carry = 1 else carry = 0 end
    out[#out + 1] = string.format('%07d', x)
    i = i - 7
    j = j - 7
  end
  return strip(out)
end

local function cmp(a, b)
  if #a ~= #b then return (#a < #b) and -1 or 1 end
  for k = 1, #a, 7 do
    local x, y = tonumber(string.sub(a, k, k + 6)), tonumber(string.sub(b, k, k + 6))
    if x ~= y then return (x < y) and -1 or 1 end
  end
  return 0
end

-- a - b, clamped at zero.
local function sub(a, b)
  if cmp(a, b) <= 0 then return '0' end
  if b == '0' then return a end
  local out, borrow, i, j = {}, 0, #a, #b
  while i > 0 do
    local x = chunk(a, i) - borrow
    if j > 0 then x = x - chunk(b, j) end
    if x < 0 then x = x + BASE; borrow = 1 else borrow = 0 end
    out[#out + 1] = string.format('%07d', x)
    i = i - 7
    j = j - 7
  end
  return strip(out)
end

-- Window from three ARGV strings: 'p', start, end or 'r', bucketMs, buckets.
local function window(kind, a, b)
  if kind == 'p' then return { period = true, start = num(a), stop = num(b) } end
  if kind == 'r' then
    local w = { period = false, bucketMs = num(a), n = num(b) }
    if w.bucketMs <= 0 or w.n < 1 or w.n ~= math.floor(w.n) then error('tokenledger: bad rolling window') end
    return w
  end
  error('tokenledger: bad window kind ' .. tostring(kind))
end

local function load(key)
  local flat = redis.call('HGETALL', key)
  local f = {}
  for k = 1, #flat, 2 do f[flat[k]] = flat[k + 1] end
  return { key = key, f = f, dirty = {}, exists = #flat > 0, ttl = 0 }
end

local function get(st, name) return st.f[name] or '0' end
local function set(st, name, value)
  st.f[name] = value
  st.dirty[name] = true
end
local function headOf(st)
  local h = st.f['head']
  if h == nil then return -math.huge end
  return tonumber(h)
end

local function clearBuckets(st)
  local names = {}
  for name in pairs(st.f) do
    if string.sub(name, 1, 2) == 'b:' then names[#names + 1] = name end
  end
  for _, name in ipairs(names) do set(st, name, nil) end
end

-- How long the state written under window w at now must live.
local function lifeOf(w, now)
  if w.period then return math.max(w.stop - now, 0) + GRACE_MS end
  return w.n * w.bucketMs + GRACE_MS
end

-- Moves the state's window to now: a new period starts from 0; buckets that left a rolling window are dropped.
local function advance(st, w, now)
  st.ttl = math.max(st.ttl, lifeOf(w, now))
  if w.period then
    if st.f['buckets'] ~= nil then
      clearBuckets(st)
      set(st, 'buckets', nil)
    end
    if w.start > headOf(st) then
      set(st, 'head', fmt(w.start))
      set(st, 'spent', '0')
    end
    return
  end
  local n = w.n
  local index = math.floor(now / w.bucketMs)
  if st.f['buckets'] == nil or tonumber(st.f['buckets']) ~= n then
    clearBuckets(st)
    set(st, 'buckets', fmt(n))
    set(st, 'spent', '0')
    set(st, 'head', fmt(index))
    return
  end
  local head = headOf(st)
  if index <= head then return end
  local steps = math.min(index - head, n)
  local spent = get(st, 'spent')
  for k = 1, steps do
    local name = 'b:' .. fmt(head + k - n)
    local v = st.f[name]
    if v ~= nil then
      spent = sub(spent, v)
      set(st, name, nil)
    end
  end
  set(st, 'spent', spent)
  set(st, 'head', fmt(index))
end

-- Adds spend at instant at (future instants count as the newest bucket); outside the window it is dropped.
local function addAt(st, w, at, value)
  if w.period then
    if at >= w.start and at < w.stop and w.start == headOf(st) then
      set(st, 'spent', add(get(st, 'spent'), value))
    end
    return
  end
  local head = headOf(st)
  local index = math.min(math.floor(at / w.bucketMs), head)
  if index <= head - w.n then return end
  local name = 'b:' .. fmt(index)
  set(st, name, add(get(st, name), value))
  set(st, 'spent', add(get(st, 'spent'), value))
end

local function freesAtOf(st, w, now)
  if w.period then return w.stop end
  local head = headOf(st)
  for index = head - w.n + 1, head do
    if st.f['b:' .. fmt(index)] ~= nil then return (index + w.n) * w.bucketMs end
  end
  return now
end

-- Writes what changed and extends the TTL; a state neither existing nor changed is not created.
local function save(st)
  local hset, hdel = {}, {}
  for name in pairs(st.dirty) do
    local v = st.f[name]
    if v == nil then
      hdel[#hdel + 1] = name
    else
      hset[#hset + 1] = name
      hset[#hset + 1] = v
    end
  end
  if #hdel > 0 then redis.call('HDEL', st.key, unpack(hdel)) end
  if #hset > 0 then redis.call('HSET', st.key, unpack(hset)) end
  if #hset == 0 and #hdel == 0 then return end
  local ttl = math.ceil(st.ttl)
  if redis.call('PTTL', st.key) < ttl then redis.call('PEXPIRE', st.key, ttl) end
end

-- One state per distinct key, loaded before any write (so a failed load writes nothing). ARGV: head values, then
-- width values per key.
local function states(head, width)
  if #ARGV ~= head + width * #KEYS then error('tokenledger: bad argument count') end
  local byKey, list, ofOp = {}, {}, {}
  for i = 1, #KEYS do
    local st = byKey[KEYS[i]]
    if st == nil then
      st = load(KEYS[i])
      byKey[KEYS[i]] = st
      list[#list + 1] = st
    end
    ofOp[i] = st
  end
  return list, ofOp
end

-- Holds: the sorted set prefix..'holds' (id scored by expiresAt) and the hashes prefix..'h:'..id (logical counter
-- key -> amount still held).
local function holdsKey(prefix) return prefix .. 'holds' end
local function holdKey(prefix, id) return prefix .. 'h:' .. id end
-- The logical key of a counter's Redis key (prefix..'c:'..key).
local function logical(prefix, redisKey) return string.sub(redisKey, #prefix + 3) end

-- Lowers a counter's reserved amount, clamped at zero; a counter that is gone (or not a hash) is skipped, and the
-- counter's TTL is left as it is (reserved is not windowed).
local function unreserve(counterKey, value)
  local r = redis.pcall('HGET', counterKey, 'reserved')
  if type(r) ~= 'string' then return end
  redis.call('HSET', counterKey, 'reserved', sub(amount(r), amount(value)))
end

-- Releases the holds expired at now, oldest first, at most HOLD_SWEEP_MAX.
local function sweep(prefix, now)
  local set = holdsKey(prefix)
  local ids = redis.call('ZRANGEBYSCORE', set, '-inf', fmt(now), 'LIMIT', 0, HOLD_SWEEP_MAX)
  if #ids == 0 then return end
  for _, id in ipairs(ids) do
    local h = holdKey(prefix, id)
    local flat = redis.call('HGETALL', h)
    for k = 1, #flat, 2 do unreserve(prefix .. 'c:' .. flat[k], flat[k + 1]) end
    redis.call('DEL', h)
  end
  redis.call('ZREM', set, unpack(ids))
end
`;

/**
 * KEYS: counters. ARGV: now, prefix, '+' and the hold id ('' = no hold), hold expiresAt ('' = none), then per op
 * kind, a, b, limit ('' = none), reserve, spend.
 */
const RESERVE_LUA = `${PRELUDE}
local now = num(ARGV[1])
local prefix, holdId = ARGV[2], string.sub(ARGV[3], 2)
local expiresAt = nil
if ARGV[3] ~= '' then expiresAt = num(ARGV[4]) end
if #ARGV ~= 4 + 6 * #KEYS then error('tokenledger: bad argument count') end
local ops = {}
for i = 1, #KEYS do
  local base = 4 + (i - 1) * 6
  local limit = ARGV[base + 4]
  if limit ~= '' then limit = amount(limit) else limit = nil end
  ops[i] = { w = window(ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]), limit = limit,
             reserve = amount(ARGV[base + 5]), spend = amount(ARGV[base + 6]) }
end
sweep(prefix, now)
local list, ofOp = states(4, 6)
for i = 1, #KEYS do advance(ofOp[i], ops[i].w, now) end
local levels = {}
for i = 1, #KEYS do
  levels[2 * i - 1] = get(ofOp[i], 'spent')
  levels[2 * i] = get(ofOp[i], 'reserved')
end
local reply = nil
for i = 1, #KEYS do
  local op = ops[i]
  if op.limit ~= nil then
    local total = add(add(add(levels[2 * i - 1], levels[2 * i]), op.reserve), op.spend)
    if cmp(total, op.limit) > 0 then
      reply = { '0', tostring(i - 1), fmt(freesAtOf(ofOp[i], op.w, now)) }
      break
    end
  end
end
if reply == nil then
  reply = { '1' }
  for i = 1, #KEYS do
    local st, op = ofOp[i], ops[i]
    set(st, 'reserved', add(get(st, 'reserved'), op.reserve))
    if op.spend ~= '0' then addAt(st, op.w, now, op.spend) end
  end
end
for _, st in ipairs(list) do save(st) end
if reply[1] == '1' and expiresAt ~= nil then
  local h = holdKey(prefix, holdId)
  local any, life = false, expiresAt - now + GRACE_MS
  for i = 1, #KEYS do
    if ops[i].reserve ~= '0' then
      local field = logical(prefix, KEYS[i])
      local held = redis.call('HGET', h, field)
      if held == false then held = '0' end
      redis.call('HSET', h, field, add(held, ops[i].reserve))
      any = true
    end
    life = math.max(life, ofOp[i].ttl)
  end
  if any then
    redis.call('ZADD', holdsKey(prefix), 'GT', fmt(expiresAt), holdId)
    life = math.ceil(life)
    if redis.call('PTTL', h) < life then redis.call('PEXPIRE', h, life) end
  end
end
for k = 1, #levels do reply[#reply + 1] = levels[k] end
return reply
`;

/**
 * KEYS: counters. ARGV: now, prefix, '+' and the hold id ('' = no hold), then per op kind, a, b, release, spend, at.
 * With a hold id, each release is capped at what the hold still holds on that counter and taken off it; an emptied
 * hold is dropped; a hold that is gone releases nothing.
 */
const COMMIT_LUA = `${PRELUDE}
local now = num(ARGV[1])
local prefix, holdId = ARGV[2], string.sub(ARGV[3], 2)
local list, ofOp = states(3, 6)
local ops = {}
for i = 1, #KEYS do
  local base = 3 + (i - 1) * 6
  ops[i] = { w = window(ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]), release = amount(ARGV[base + 4]),
             spend = amount(ARGV[base + 5]), at = num(ARGV[base + 6]) }
end
local held, existed = nil, false
if ARGV[3] ~= '' then
  held = {}
  local flat = redis.call('HGETALL', holdKey(prefix, holdId))
  existed = #flat > 0
  for k = 1, #flat, 2 do held[flat[k]] = amount(flat[k + 1]) end
end
for i = 1, #KEYS do
  local st, op = ofOp[i], ops[i]
  advance(st, op.w, now)
  local release = op.release
  if held ~= nil then
    local field = logical(prefix, KEYS[i])
    local h = held[field] or '0'
    if cmp(release, h) > 0 then release = h end
    if h ~= '0' then held[field] = sub(h, release) end
  end
  set(st, 'reserved', sub(get(st, 'reserved'), release))
  if op.spend ~= '0' then addAt(st, op.w, op.at, op.spend) end
end
for _, st in ipairs(list) do save(st) end
if existed then
  local h = holdKey(prefix, holdId)
  local hset, hdel = {}, {}
  for field, value in pairs(held) do
    if value == '0' then
      hdel[#hdel + 1] = field
    else
      hset[#hset + 1] = field
      hset[#hset + 1] = value
    end
  end
  if #hset == 0 then
    redis.call('DEL', h)
    redis.call('ZREM', holdsKey(prefix), holdId)
  else
    if #hdel > 0 then redis.call('HDEL', h, unpack(hdel)) end
    redis.call('HSET', h, unpack(hset))
  end
end
return 'OK'
`;

/** KEYS: none. ARGV: prefix, hold id, expiresAt. Moves a live hold's expiry (and its hash's TTL) later. */
const TOUCH_LUA = `${PRELUDE}
local prefix, holdId, expiresAt = ARGV[1], ARGV[2], num(ARGV[3])
local set = holdsKey(prefix)
local old = redis.call('ZSCORE', set, holdId)
if old == false then return 'OK' end
old = num(old)
if expiresAt <= old then return 'OK' end
redis.call('ZADD', set, 'XX', fmt(expiresAt), holdId)
local h = holdKey(prefix, holdId)
local ttl = redis.call('PTTL', h)
if ttl > 0 then redis.call('PEXPIRE', h, math.ceil(ttl + expiresAt - old)) end
return 'OK'
`;

/**
 * KEYS: counters. ARGV: now, prefix, then per ref kind, a, b. Releases expired holds, moves existing counters'
 * windows; creates none.
 */
const READ_LUA = `${PRELUDE}
local now = num(ARGV[1])
local prefix = ARGV[2]
sweep(prefix, now)
local list, ofOp = states(2, 3)
local reply = {}
for i = 1, #KEYS do
  local base = 2 + (i - 1) * 3
  local w = window(ARGV[base + 1], ARGV[base + 2], ARGV[base + 3])
  local st = ofOp[i]
  if st.exists then
    advance(st, w, now)
    reply[#reply + 1] = get(st, 'spent')
    reply[#reply + 1] = get(st, 'reserved')
  else
    reply[#reply + 1] = '0'
    reply[#reply + 1] = '0'
  end
end
for _, st in ipairs(list) do if st.exists then save(st) end end
return reply
`;

const RESERVE = luaScript(RESERVE_LUA);
const COMMIT = luaScript(COMMIT_LUA);
const READ = luaScript(READ_LUA);
const TOUCH = luaScript(TOUCH_LUA);

/** The Redis store: the counter port, plus one-off claims and closing the connection. */
export interface RedisCounterStore extends CounterStore {
  /**
   * Marks `name` as claimed in this Redis, atomically across replicas: true for the one caller that claimed it
   * first, false for every later one (for as long as Redis keeps its data).
   */
  claim(name: string): Promise<boolean>;
  /** Quits the client; calls after it reject. */
  close(): Promise<void>;
}

/** Connects to Redis at `url`; the store's counters are the hashes under `prefix`. */
export async function createRedisCounterStore(
  options: RedisCounterStoreOptions,
): Promise<RedisCounterStore> {
  const redis = await openRedis(options);
  const prefix = redis.keyPrefix(options.prefix ?? 'tokenledger:');
  const counters = `${prefix}c:`;
  const redisKey = (key: string) => `${counters}${key}`;
  // Names a call's slot when it has no counter key (every key of the store shares the prefix's hash tag).
  const holds = `${prefix}holds`;
  const strings = (reply: unknown) => reply as string[];

  return {
    async reserve(
      ops: readonly CounterOp[],
      now: number,
      hold?: CounterHold,
    ): Promise<ReserveOutcome> {
      if (ops.length === 0) return { ok: true, levels: [] };
      const args = [
        time(now),
        prefix,
        hold === undefined ? '' : `+${hold.id}`,
        hold === undefined ? '' : time(hold.expiresAt),
      ];
      for (const op of ops) {
        args.push(...windowArgs(op.window));
        args.push(op.limit === null ? '' : digits(op.limit), digits(op.reserve), digits(op.spend));
      }
      const reply = strings(
        await redis.script(
          RESERVE,
          ops.map((op) => redisKey(op.key)),
          args,
          'reserve',
        ),
      );
      if (reply[0] === '1') return { ok: true, levels: levelsOf(reply, 1, ops.length) };
      return {
        ok: false,
        failed: Number(reply[1]),
        levels: levelsOf(reply, 3, ops.length),
        freesAt: Number(reply[2]),
      };
    },

    async commit(ops: readonly CounterCommit[], now: number, holdId?: string): Promise<void> {
      if (ops.length === 0) return;
      const args = [time(now), prefix, holdId === undefined ? '' : `+${holdId}`];
      for (const op of ops) {
        args.push(...windowArgs(op.window), digits(op.release), digits(op.spend), time(op.at));
      }
      await redis.script(
        COMMIT,
        ops.map((op) => redisKey(op.key)),
        args,
        'commit',
      );
    },

    async touch(holdId: string, expiresAt: number): Promise<void> {
      await redis.script(TOUCH, [holds], [prefix, holdId, time(expiresAt)], 'touch');
    },

    async read(refs: readonly CounterRef[], now: number): Promise<CounterLevel[]> {
      if (refs.length === 0) return [];
      const args = [time(now), prefix];
      for (const ref of refs) args.push(...windowArgs(ref.window));
      const reply = strings(
        await redis.script(
          READ,
          refs.map((ref) => redisKey(ref.key)),
          args,
          'read',
        ),
      );
      return levelsOf(reply, 0, refs.length);
    },

    async keys(keyPrefix: string): Promise<string[]> {
      const found = new Set<string>();
      const match = `${escapeGlob(counters + keyPrefix)}*`;
      for await (const name of redis.scan(match, holds)) {
        if (!name.startsWith(counters)) continue;
        const key = name.slice(counters.length);
        if (key.startsWith(keyPrefix)) found.add(key);
      }
      return [...found].sort();
    },

    async claim(name: string): Promise<boolean> {
      return redis.setIfAbsent(`${prefix}claim:${name}`, '1', 'claim');
    },

    close: () => redis.close(),
  };
}

function levelsOf(reply: readonly string[], from: number, count: number): CounterLevel[] {
  const levels: CounterLevel[] = [];
  for (let i = 0; i < count; i++) {
    levels.push({
      spent: BigInt(reply[from + 2 * i] ?? '0'),
      reserved: BigInt(reply[from + 2 * i + 1] ?? '0'),
    });
  }
  return levels;
}

function windowArgs(window: CounterWindow): [string, string, string] {
  return window.kind === 'period'
    ? ['p', time(window.start), time(window.end)]
    : ['r', time(window.bucketMs), time(window.buckets)];
}

/** An amount as the scripts take it; they hold non-negative amounts only. */
function digits(value: bigint): string {
  if (value < 0n) throw new RangeError(`counter amounts are non-negative, got ${value}`);
  return value.toString();
}

/** An instant, a bucket size or count (the scripts read it back as the same double). */
function time(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`expected a finite number, got ${value}`);
  return String(value);
}

/** Escapes Redis glob metacharacters so a key prefix matches literally in SCAN MATCH. */
function escapeGlob(text: string): string {
  return text.replace(/[\\*?[\]]/g, '\\$&');
}
