/**
 * Virtual keys shared by gateway replicas. Each replica keeps its keys in its own ledger (durable, and what it
 * starts from); when the replicas share counters in Redis they also share their keys there, so a key created,
 * rotated or revoked through any replica's admin API (or `tokenledger keys … --gateway`) holds on all of them.
 *
 * The shared copy is a merge that every replica can apply in any order, any number of times, and reach the same
 * result: a key's identity, attribution and expiry never change once created (its id is random), and of two views
 * of its revocation the more restrictive wins — the earlier revocation, the recorded successor. So a
 * revocation can never be undone by a replica that had not heard of it, and a Redis that lost its data is filled
 * again from the replicas' ledgers.
 *
 * Each replica publishes every key of its ledger at start, then every change it makes; once a second it asks the
 * shared copy's version, and on a change reads it whole and takes in what is new (into its ledger too). A change
 * that could not be published (Redis down) is kept and published again on the next tick. A revocation made on one
 * replica therefore holds on all of them within about a second of Redis having it. The version carries an epoch,
 * set by the first publish into an empty shared copy: a shared copy that lost its data (a Redis restarted without
 * persistence) has no epoch or a new one, and every running replica then publishes all its keys again — a counter
 * alone would start again from values the replicas have already seen, and changes would go unnoticed.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../core/index.ts';
import type { KeyRing, VirtualKey } from './keys.ts';

/** The shared copy of the keys (Redis, or memory in tests). */
export interface SharedKeys {
  /**
   * Merges the keys into the shared copy (see `mergeKeys`); the version's counter moves if anything changed. Into an
   * empty shared copy, it first sets a new epoch.
   */
  publish(keys: readonly VirtualKey[]): Promise<void>;
  /** The shared copy's epoch (null while it is empty) and a counter that moves whenever it changes. */
  version(): Promise<SharedVersion>;
  /** Every shared key, and how many entries could not be read as a key. */
  all(): Promise<{ keys: VirtualKey[]; unreadable: number }>;
  close(): Promise<void>;
}

export interface SharedVersion {
  readonly epoch: string | null;
  readonly counter: string;
}

const earlier = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.min(a, b);

/** Two views of one key (same id): the first's identity, the earlier revocation and the successor either names. */
export function mergeKeys(a: VirtualKey, b: VirtualKey): VirtualKey {
  const revokedAt = earlier(a.revokedAt, b.revokedAt);
  const replacedBy = a.replacedBy ?? b.replacedBy;
  if (revokedAt === a.revokedAt && replacedBy === a.replacedBy) return a;
  return { ...a, revokedAt, replacedBy };
}

const sameLifetime = (a: VirtualKey, b: VirtualKey) =>
  a.revokedAt === b.revokedAt && a.replacedBy === b.replacedBy;

/**
 * The shared copy in this process's memory: for tests, and the reference the Redis one is held to. `lose()` empties
 * it, as a Redis restarted without persistence is.
 */
export function createMemorySharedKeys(): SharedKeys & { lose(): void } {
  const keys = new Map<string, VirtualKey>();
  let version = 0;
  let epoch: string | null = null;
  return {
    async publish(list) {
      epoch ??= randomUUID();
      let changed = false;
      for (const k of list) {
        const old = keys.get(k.id);
        const next = old === undefined ? k : mergeKeys(old, k);
        if (old === undefined || !sameLifetime(old, next)) {
          keys.set(k.id, next);
          changed = true;
        }
      }
      if (changed) version++;
    },
    async version() {
      return { epoch, counter: String(version) };
    },
    async all() {
      return { keys: [...keys.values()], unreadable: 0 };
    },
    async close() {},
    lose() {
      keys.clear();
      version = 0;
      epoch = null;
    },
  };
}

export interface KeySyncStats {
  /** Key changes made here and not yet in the shared copy. */
  readonly pending: number;
  /** Epoch ms of the last exchange with the shared copy that succeeded, or null. */
  readonly lastSyncAt: number | null;
  /** Shared entries that could not be read as keys, at the last read. */
  readonly unreadable: number;
}

export interface KeySync {
  /** Publishes keys changed here (already in this replica's ledger and ring); false if kept for the next tick. */
  publish(keys: readonly VirtualKey[]): Promise<boolean>;
  /** One exchange now: publish what is pending, take in what changed. */
  tick(): Promise<void>;
  stats(): KeySyncStats;
  /** Stops the ticks (the shared copy's connection is the caller's to close). */
  close(): Promise<void>;
}

export interface KeySyncDeps {
  readonly ring: KeyRing;
  readonly shared: SharedKeys;
  /** Stores keys in this replica's ledger. */
  readonly save: (keys: readonly VirtualKey[]) => Promise<void>;
  readonly log: Logger;
  readonly clock: () => number;
  /** Between two looks at the shared copy; default 1000 ms. */
  readonly intervalMs?: number;
}

/** Publishes this replica's keys, takes in the shared ones, then keeps both in step. */
export async function startKeySync(deps: KeySyncDeps): Promise<KeySync> {
  const { ring, shared, log, clock } = deps;
  const pending = new Map<string, VirtualKey>();
  /** Keys taken in from the shared copy and served, not yet in this replica's ledger. */
  const unsaved = new Map<string, VirtualKey>();
  let seen: SharedVersion | null = null;
  /** The epoch of the shared copy this replica published into (undefined: none yet). */
  let seenEpoch: string | undefined;
  let lastSyncAt: number | null = null;
  let unreadable = 0;
  /** Each warning at most once a minute. */
  const warnedAt = new Map<string, number>();
  let running: Promise<void> | null = null;
  let closed = false;

  const warn = (message: string, error: unknown) => {
    if (clock() - (warnedAt.get(message) ?? Number.NEGATIVE_INFINITY) < 60_000) return;
    warnedAt.set(message, clock());
    log.warn(message, { error: (error as Error).message, pending: pending.size });
  };

  const queue = (keys: readonly VirtualKey[]) => {
    for (const k of keys) {
      const queued = pending.get(k.id);
      pending.set(k.id, queued === undefined ? k : mergeKeys(queued, k));
    }
  };

  /** Sends what is pending; a key changed again meanwhile stays pending. */
  const flush = async () => {
    if (pending.size === 0) return;
    const sent = [...pending.values()];
    await shared.publish(sent);
    for (const k of sent) if (pending.get(k.id) === k) pending.delete(k.id);
  };

  /**
   * Takes in the shared copy if it changed: new keys, and lifetimes more restrictive than ours. A shared copy without
   * our epoch lost its data: all our keys go to it again.
   */
  const pull = async () => {
    const version = await shared.version();
    if (version.epoch === null || (seenEpoch !== undefined && version.epoch !== seenEpoch))
      queue(ring.list());
    seenEpoch = version.epoch ?? undefined;
    if (version.epoch === seen?.epoch && version.counter === seen.counter) return;
    const all = await shared.all();
    if (all.unreadable > 0 && all.unreadable !== unreadable)
      log.warn('shared keys: entries that are not keys were skipped', {
        unreadable: all.unreadable,
      });
    unreadable = all.unreadable;
    const changed: VirtualKey[] = [];
    const ours: VirtualKey[] = [];
    for (const remote of all.keys) {
      const local = ring.get(remote.id);
      if (local !== undefined && local.hash !== remote.hash) {
        // Ids are random: this is not the same key. Ours stays; theirs is not trusted.
        log.warn('shared keys: a key id with two different keys; the shared one is ignored', {
          id: remote.id,
        });
        continue;
      }
      const merged = local === undefined ? remote : mergeKeys(local, remote);
      if (local === undefined || !sameLifetime(local, merged)) changed.push(merged);
      // Ours is more restrictive than the shared copy (it missed a publish): send it again.
      if (!sameLifetime(merged, remote)) ours.push(merged);
    }
    // Served at once (a revocation must hold even if the ledger cannot take it now), then stored.
    for (const k of changed) {
      ring.put(k);
      unsaved.set(k.id, k);
    }
    queue(ours);
    seen = version;
    await store();
  };

  /** Stores in the ledger what was taken in; what it could not take is tried again on the next tick. */
  const store = async () => {
    if (unsaved.size === 0) return;
    // The ring's current view of each key: a revocation made here since it was taken in must not be overwritten.
    const taken = [...unsaved];
    try {
      await deps.save(taken.map(([id, k]) => ring.get(id) ?? k));
      for (const [id, k] of taken) if (unsaved.get(id) === k) unsaved.delete(id);
    } catch (error: unknown) {
      warn(
        'shared keys: the ledger could not store keys taken in; they are served and stored later',
        error,
      );
    }
  };

  const exchange = async () => {
    await store();
    try {
      await flush();
      await pull();
      await flush();
      lastSyncAt = clock();
    } catch (error: unknown) {
      warn('shared keys (Redis) unavailable; key changes are kept and sent when it is back', error);
    }
  };
  const tick = (): Promise<void> => {
    running ??= exchange().finally(() => {
      running = null;
    });
    return running;
  };

  // At start: every key of this ledger, then whatever the other replicas have.
  queue(ring.list());
  await flush();
  await pull();
  lastSyncAt = clock();
  const timer = setInterval(() => void tick(), deps.intervalMs ?? 1000);
  timer.unref();

  return {
    async publish(keys) {
      queue(keys);
      if (closed) return false;
      try {
        await flush();
        return pending.size === 0;
      } catch (error: unknown) {
        warn(
          'shared keys (Redis) unavailable; key changes are kept and sent when it is back',
          error,
        );
        return false;
      }
    },
    tick,
    stats: () => ({ pending: pending.size, lastSyncAt, unreadable }),
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}
