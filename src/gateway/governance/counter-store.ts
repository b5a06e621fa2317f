/**
 * Where governance keeps its counters: the `CounterStore` port and its in-memory implementation. A counter is a
 * key with a spend inside a window (a calendar period or a bucketed rolling window) and an amount reserved by calls
 * in flight. Amounts are bigint in one unit per counter: pico-USD for budgets, tokens for TPM, requests for RPM.
 */

/**
 * How a counter's spend is windowed. The governor computes it (time zones stay in JS), so a store only does integer
 * arithmetic on epoch milliseconds.
 * - `period`: spend counts while the period is `start`; a later `start` starts again from 0.
 * - `rolling`: spend sits in buckets `floor(t / bucketMs)`; the window sums the newest `buckets` of them, the
 *   current one included.
 */
export type CounterWindow =
  | { readonly kind: 'period'; readonly start: number; readonly end: number }
  | { readonly kind: 'rolling'; readonly bucketMs: number; readonly buckets: number };

/** One counter a call touches at admission. Keys within one `reserve` call are distinct. */
export interface CounterOp {
  readonly key: string;
  readonly window: CounterWindow;
  /** Refuse when spent + reserved + reserve + spend would exceed it; null = count only, never refuse. */
  readonly limit: bigint | null;
  /** Held until `commit` releases it (worst-case cost, worst-case tokens). */
  readonly reserve: bigint;
  /** Counted at once, at `now` (one request for RPM). */
  readonly spend: bigint;
}

/** A counter's state before the call at hand: spend inside its window and the amount reserved by calls in flight. */
export interface CounterLevel {
  readonly spent: bigint;
  readonly reserved: bigint;
}

/** What `reserve` did: everything, or nothing because `ops[failed]` would pass its limit. */
export type ReserveOutcome =
  | { readonly ok: true; readonly levels: readonly CounterLevel[] }
  | {
      readonly ok: false;
      /** Index of the first op over its limit. */
      readonly failed: number;
      readonly levels: readonly CounterLevel[];
      /** When spend of the failed counter first leaves its window (period end, or the oldest bucket's expiry). */
      readonly freesAt: number;
    };

/** Settles what a call held: releases `release` from the reserved amount and adds `spend` to the window at `at`. */
export interface CounterCommit {
  readonly key: string;
  readonly window: CounterWindow;
  readonly release: bigint;
  readonly spend: bigint;
  /** Epoch ms the spend belongs to; dropped when outside the window (a past period, an expired bucket). */
  readonly at: number;
}

/** A counter to read. */
export interface CounterRef {
  readonly key: string;
  readonly window: CounterWindow;
}

/** A per-call hold: what `reserve` reserved, remembered under `id` until the store releases it at `expiresAt`. */
export interface CounterHold {
  readonly id: string;
  /** Epoch ms; the hold is released by the first `reserve` or `read` whose `now` is at or past it. */
  readonly expiresAt: number;
}

/** How many expired holds one `reserve` or `read` releases at most (oldest first; the rest go on later calls). */
export const HOLD_SWEEP_MAX = 100;

/**
 * The state behind `Governor`. Contract:
 * - `reserve` is atomic over all its ops: it checks every op with a limit, then applies all or none. Nothing else
 *   may interleave between the checks and the writes. (A Redis store runs it as one Lua script: KEYS = the counter
 *   keys, ARGV = window, limit, reserve and spend per op plus `now`; each key a hash of bucket → amount plus a
 *   `reserved` field. Lua 5.1 numbers are doubles, exact only to 2^53 pico-USD ≈ $9,007, so sums are done on
 *   decimal strings.)
 * - Holds, so that a reservation nobody settles (a crashed replica, a store unreachable at settlement) does not
 *   shrink a budget for good. `reserve(ops, now, hold)`, when admitted, remembers the non-zero `reserve` of each op
 *   under `hold.id` until `hold.expiresAt`. Every non-empty `reserve` and `read` first releases (from `reserved`,
 *   which is not windowed) the holds whose `expiresAt <= now`, oldest first, at most `HOLD_SWEEP_MAX` per call, in
 *   the same atomic step: any live replica's next admission frees what a dead one held. `commit(ops, now, holdId)`
 *   releases an op's `release` only out of what that hold still holds on that counter (at most that much), takes it
 *   off the hold and drops the hold once it holds nothing; a hold already released (expired) or never made releases
 *   nothing and only the `spend` applies, so a hold is never released twice. (A partial release, as a downgrade
 *   after admission does, keeps the rest held.) `touch(holdId, expiresAt)` moves a live hold's expiry later (never
 *   earlier); a hold that is gone stays gone. `commit` without a hold id releases as asked (clamped at zero);
 *   seeding from the ledger uses no hold.
 * - `commit` never refuses; it is how settlement, release and seeding from the ledger reach the counters.
 * - `read` and `keys` are for status: they never create counters.
 * Windows move forward only: a `now` older than a counter's newest bucket or period changes nothing.
 */
export interface CounterStore {
  reserve(ops: readonly CounterOp[], now: number, hold?: CounterHold): Promise<ReserveOutcome>;
  commit(ops: readonly CounterCommit[], now: number, holdId?: string): Promise<void>;
  /** Extends a live hold to `expiresAt` (never shortens it); nothing when the hold is gone. */
  touch(holdId: string, expiresAt: number): Promise<void>;
  read(refs: readonly CounterRef[], now: number): Promise<CounterLevel[]>;
  /** Keys that start with `prefix` (to list the per-value counters of a `*` scope). */
  keys(prefix: string): Promise<string[]>;
}

interface Slot {
  reserved: bigint;
  /** Spend in the window: the period's total, or the sum of the ring. */
  total: bigint;
  /** The period's start, or the newest bucket index. */
  head: number;
  ring: bigint[] | null;
}

const ZERO: CounterLevel = { spent: 0n, reserved: 0n };

/**
 * Counters in this process's memory. Correct for one gateway process only: replicas each holding their own counters
 * would each allow the whole budget (the LiteLLM leak); run a shared store (one Lua script per call) for more.
 */
export function createMemoryCounterStore(): CounterStore {
  const slots = new Map<string, Slot>();
  /** Live holds: expiry and, per counter key, the amount still held. */
  const holds = new Map<string, { expiresAt: number; amounts: Map<string, bigint> }>();

  /** Takes `amount` off a counter's reserved amount, clamped at zero (no window: reserved is not windowed). */
  const unreserve = (key: string, amount: bigint): void => {
    const slot = slots.get(key);
    if (slot !== undefined) slot.reserved = slot.reserved > amount ? slot.reserved - amount : 0n;
  };

  /**
   * No hold expires before this (a lower bound: touch only moves expiries later, a commit only removes holds), so
   * the sweep on every admission costs one comparison until a hold is actually due.
   */
  let earliest = Number.POSITIVE_INFINITY;

  /** Releases the holds expired at `now`, oldest first, at most `HOLD_SWEEP_MAX`. */
  const sweep = (now: number): void => {
    if (now < earliest) return;
    const due: [string, number][] = [];
    earliest = Number.POSITIVE_INFINITY;
    for (const [id, h] of holds) {
      if (h.expiresAt <= now) due.push([id, h.expiresAt]);
      else if (h.expiresAt < earliest) earliest = h.expiresAt;
    }
    due.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [, expiresAt] of due.slice(HOLD_SWEEP_MAX))
      if (expiresAt < earliest) earliest = expiresAt; // left for the next call
    for (const [id] of due.slice(0, HOLD_SWEEP_MAX)) {
      const h = holds.get(id);
      holds.delete(id);
      if (h !== undefined) for (const [key, amount] of h.amounts) unreserve(key, amount);
    }
  };

  const slotFor = (key: string, window: CounterWindow, now: number): Slot => {
    let slot = slots.get(key);
    if (slot === undefined) {
      slot = { reserved: 0n, total: 0n, head: Number.NEGATIVE_INFINITY, ring: null };
      slots.set(key, slot);
    }
    advance(slot, window, now);
    return slot;
  };

  return {
    reserve(ops, now, hold) {
      if (ops.length > 0) sweep(now);
      const slotsOf = ops.map((op) => slotFor(op.key, op.window, now));
      const levels = slotsOf.map((s) => ({ spent: s.total, reserved: s.reserved }));
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i] as CounterOp;
        const level = levels[i] as CounterLevel;
        if (op.limit !== null && level.spent + level.reserved + op.reserve + op.spend > op.limit) {
          const freesAt = freesAtOf(slotsOf[i] as Slot, op.window, now);
          return Promise.resolve({ ok: false, failed: i, levels, freesAt });
        }
      }
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i] as CounterOp;
        const slot = slotsOf[i] as Slot;
        slot.reserved += op.reserve;
        if (op.spend !== 0n) addAt(slot, op.window, now, op.spend);
      }
      if (hold !== undefined && ops.some((op) => op.reserve !== 0n)) {
        const h = holds.get(hold.id) ?? { expiresAt: hold.expiresAt, amounts: new Map() };
        h.expiresAt = Math.max(h.expiresAt, hold.expiresAt);
        for (const op of ops) {
          if (op.reserve !== 0n) h.amounts.set(op.key, (h.amounts.get(op.key) ?? 0n) + op.reserve);
        }
        holds.set(hold.id, h);
        if (h.expiresAt < earliest) earliest = h.expiresAt;
      }
      return Promise.resolve({ ok: true, levels });
    },

    commit(ops, now, holdId) {
      const h = holdId === undefined ? undefined : holds.get(holdId);
      for (const op of ops) {
        const slot = slotFor(op.key, op.window, now);
        let release = op.release;
        if (holdId !== undefined) {
          // Only what the hold still holds on this counter: a hold is never released twice.
          const held = h?.amounts.get(op.key) ?? 0n;
          if (release > held) release = held;
          if (h !== undefined && release !== 0n) {
            if (held === release) h.amounts.delete(op.key);
            else h.amounts.set(op.key, held - release);
          }
        }
        // Clamped: releasing more than is held would otherwise open room no call paid for.
        slot.reserved = slot.reserved > release ? slot.reserved - release : 0n;
        if (op.spend !== 0n) addAt(slot, op.window, op.at, op.spend);
      }
      if (holdId !== undefined && h !== undefined && h.amounts.size === 0) holds.delete(holdId);
      return Promise.resolve();
    },

    touch(holdId, expiresAt) {
      const h = holds.get(holdId);
      if (h !== undefined && expiresAt > h.expiresAt) h.expiresAt = expiresAt;
      return Promise.resolve();
    },

    read(refs, now) {
      if (refs.length > 0) sweep(now);
      return Promise.resolve(
        refs.map((ref) => {
          const slot = slots.get(ref.key);
          if (slot === undefined) return ZERO;
          advance(slot, ref.window, now);
          return { spent: slot.total, reserved: slot.reserved };
        }),
      );
    },

    keys(prefix) {
      return Promise.resolve([...slots.keys()].filter((k) => k.startsWith(prefix)));
    },
  };
}

/** Moves a slot's window to `now`: a new period starts from 0; buckets that left a rolling window are dropped. */
function advance(slot: Slot, window: CounterWindow, now: number): void {
  if (window.kind === 'period') {
    if (slot.ring !== null) slot.ring = null; // the key changed kind (new configuration): start again
    if (window.start > slot.head) {
      slot.head = window.start;
      slot.total = 0n;
    }
    return;
  }
  const n = window.buckets;
  const index = Math.floor(now / window.bucketMs);
  if (slot.ring === null || slot.ring.length !== n) {
    slot.ring = new Array<bigint>(n).fill(0n);
    slot.total = 0n;
    slot.head = index;
    return;
  }
  if (index <= slot.head) return;
  const steps = Math.min(index - slot.head, n);
  for (let i = 1; i <= steps; i++) {
    const j = (slot.head + i) % n;
    slot.total -= slot.ring[j] as bigint;
    slot.ring[j] = 0n;
  }
  slot.head = index;
}

/** Adds spend at instant `at` (future instants count as the newest bucket); outside the window it is dropped. */
function addAt(slot: Slot, window: CounterWindow, at: number, amount: bigint): void {
  if (window.kind === 'period') {
    if (at >= window.start && at < window.end && window.start === slot.head) slot.total += amount;
    return;
  }
  const ring = slot.ring as bigint[];
  const index = Math.min(Math.floor(at / window.bucketMs), slot.head);
  if (index <= slot.head - window.buckets) return;
  const j = index % window.buckets;
  ring[j] = (ring[j] as bigint) + amount;
  slot.total += amount;
}

function freesAtOf(slot: Slot, window: CounterWindow, now: number): number {
  if (window.kind === 'period') return window.end;
  const ring = slot.ring as bigint[];
  for (let index = slot.head - window.buckets + 1; index <= slot.head; index++) {
    if (ring[index % window.buckets] !== 0n) return (index + window.buckets) * window.bucketMs;
  }
  return now;
}
