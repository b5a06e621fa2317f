/**
 * The no-loss spool between the gateway and the store. Every record is appended to a local segment file (at the end
 * of the event-loop turn that took it: see Durability); a flusher delivers segments to the store in batches, in
 * order, and deletes a segment only after all its records were written. If the store is down the gateway keeps
 * appending (or, with `fail_closed`, stops admitting calls) and the flusher retries with exponential backoff; a
 * restarted process replays what is left.
 *
 * Files in `dir`: `<seq>.jsonl` segments (one record per line, seq increasing across restarts), `<seq>.offset`
 * (bytes of that segment already written to the store), `LOCK` (the owning process id: one process per directory).
 *
 * Durability (fsync policy): the records appended during one turn of the event loop are written together with one
 * write(2) at the end of that turn (a group commit: one system call for a busy gateway's dozen records, not one
 * each), and `written()` resolves then: a record survives a crash of the process (kill -9) once `written()` has
 * resolved, and the gateway answers a call only after that. With `fsync: 'interval'` (default) the active segment
 * is fdatasync'ed every `flushMs` (on the thread pool), so a power loss can lose at most the last `flushMs` of
 * records; `'always'` syncs every group before `written()` resolves (durable against power loss, ~ms per turn on
 * most disks).
 *
 * Delivery cadence, apart from the sync's: every `deliverMs`, or as soon as `batchSize` records wait. Each delivery
 * seals the segment and makes one store write per batch, and a write has a fixed cost (a statement, a commit, a
 * sync), so a busy gateway delivers seldom and in big batches while its records are synced as often as ever.
 *
 * Delivery: at least once. Within a process a record is passed to `write` (or `writeLines`) once: flushes are
 * serialized and a segment's committed offset moves after each successful batch. A process that dies after `write`
 * succeeded but before the offset was saved writes that one batch again on restart, and a `write` that failed
 * after partly storing is retried whole; the store dedupes on request id, so the ledger counts each call once.
 *
 * A line that cannot be read (the torn last line of a segment a crash cut short, or a corrupt one) is skipped,
 * counted in `stats().corruptLines` and logged with its segment and offset; it never stops the spool.
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, errorMessage, type Logger, writeAll } from '../core/index.ts';

/** What a lines writer may report: lines it could not read (counted with `corruptLines`, never retried). */
export interface LinesOutcome {
  readonly unreadable: number;
}

/** How to build a spool of records `T`. */
export interface SpoolOptions<T> {
  readonly dir: string;
  /** Stores one batch of records; resolves once it is durable, throws when the store is unavailable. */
  readonly write?: (records: T[]) => Promise<void>;
  /**
   * Instead of `write`: stores one batch as the segment's own bytes, `count` whole lines (empty lines skipped in the
   * count), for a writer that reads them itself — the gateway's lines are ledger rows that go to the store as they
   * are, with no string made of each on the event loop.
   */
  readonly writeLines?: (lines: Buffer, count: number) => Promise<LinesOutcome>;
  /**
   * Records per `write`, and appends that set off a flush. A batch may hold up to a quarter more: a remainder that
   * small goes with the batch before it.
   */
  readonly batchSize: number;
  /** How often the active segment is synced (the power-loss window), and delivery is considered, ms. */
  readonly flushMs: number;
  /** Longest a record waits before delivery to the store, ms (default `flushMs`; rounded up to a `flushMs` tick). */
  readonly deliverMs?: number;
  readonly onStoreDown: 'serve' | 'fail_closed';
  readonly log: Logger;
  /** One line of text per record (no newline). Default: JSON with bigint values kept exact. */
  readonly serialize?: (record: T) => string;
  readonly deserialize?: (line: string) => T;
  /** Seal the active segment at this size (default 16 MiB). */
  readonly maxSegmentBytes?: number;
  /** Longest wait between retries while the store is down (default 30 s). */
  readonly maxBackoffMs?: number;
  readonly fsync?: 'interval' | 'always';
}

/** What the spool holds and how delivery goes. */
export interface SpoolStats {
  /** Records appended by this process. */
  readonly appended: number;
  /** Records `write` accepted (this process, replays included). */
  readonly written: number;
  /** Records not yet written to the store (this turn's, not yet in a segment, included). */
  readonly pendingRecords: number;
  readonly pendingBytes: number;
  readonly segments: number;
  /** The last `write` failed and none has succeeded since. */
  readonly storeDown: boolean;
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
  /** Lines skipped because they could not be read (torn or corrupt). */
  readonly corruptLines: number;
  /** Segments left by an earlier process, found at start. */
  readonly replayedSegments: number;
  /** fdatasyncs of segments done. */
  readonly syncs: number;
}

/** A running spool. */
export interface Spool<T> {
  /**
   * Takes one record for the spool, written at the end of this event-loop turn with the others of the turn (see the
   * header). Throws after `close`, or when the record does not serialize to one line.
   */
  append(record: T): void;
  /**
   * Resolves once every record appended so far is in the segment file (synced too with `fsync: 'always'`); rejects
   * with `gateway.spool_write_failed` when the write of theirs failed (those records are not spooled).
   */
  written(): Promise<void>;
  /** False while the store is down and `onStoreDown` is `fail_closed`: the gateway should answer 503. */
  canServe(): boolean;
  /** Delivers everything appended so far; resolves after one attempt, even if the store is down (see stats). */
  flush(): Promise<void>;
  /** Stops the timer, tries a last flush, closes the files and the lock; what is left is replayed next start. */
  close(): Promise<void>;
  stats(): SpoolStats;
}

interface Segment {
  readonly seq: number;
  size: number;
  /** Bytes already delivered. */
  committed: number;
}

interface Active extends Segment {
  readonly fd: number;
  records: number;
  /** The syncs of this segment on the thread pool, one after the other; closing it waits for them. */
  synced: Promise<void>;
}

/** One event-loop turn's records: their lines, and the promise `written()` hands out for them. */
interface Group {
  text: string;
  count: number;
  readonly done: Promise<void>;
  readonly ok: () => void;
  readonly fail: (e: Error) => void;
}

function newGroup(): Group {
  let ok!: () => void;
  let fail!: (e: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    ok = resolve;
    fail = reject;
  });
  // Nobody may wait for a group (its failure is logged where it happens): not an unhandled rejection.
  done.catch(() => undefined);
  return { text: '', count: 0, done, ok, fail };
}

const WRITTEN = Promise.resolve();

const SEGMENT = /^(\d{16})\.jsonl$/;
const segmentName = (seq: number) => `${String(seq).padStart(16, '0')}.jsonl`;
const offsetName = (seq: number) => `${String(seq).padStart(16, '0')}.offset`;

/** Opens (or creates) the spool in `dir`, takes its lock, and schedules the replay of segments left there. */
export function createSpool<T>(options: SpoolOptions<T>): Spool<T> {
  const { dir, log } = options;
  const serialize = options.serialize ?? encodeLine;
  const deserialize = options.deserialize ?? (decodeLine as (line: string) => T);
  const { write, writeLines } = options;
  if ((write === undefined) === (writeLines === undefined))
    throw new AppError('gateway.spool_writer', 'a spool takes exactly one of write and writeLines');
  const maxSegmentBytes = options.maxSegmentBytes ?? 16 * 1024 * 1024;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const deliverMs = options.deliverMs ?? options.flushMs;
  const path = (name: string) => join(dir, name);

  mkdirSync(dir, { recursive: true });
  const lockPath = takeLock(dir);
  const sealed: Segment[] = [];
  let pending = 0;
  const names = readdirSync(dir).sort();
  for (const name of names) {
    // An offset whose segment is gone: left by a crash between the two deletions.
    const offsetOf = /^(\d{16})\.offset(\.tmp)?$/.exec(name);
    if (offsetOf !== null && !names.includes(`${offsetOf[1]}.jsonl`)) unlinkSync(path(name));
    const m = SEGMENT.exec(name);
    if (m === null) continue;
    const seq = Number(m[1]);
    const data = readFileSync(path(name));
    const committed = Math.min(readOffset(path(offsetName(seq))), data.length);
    pending += countLines(data, committed);
    sealed.push({ seq, size: data.length, committed });
  }
  const replayedSegments = sealed.length;
  let nextSeq = (sealed.at(-1)?.seq ?? 0) + 1;
  let active: Active | null = null;
  let dirty = false;
  let closed = false;
  const counts = { appended: 0, written: 0, corrupt: 0, failures: 0, syncs: 0 };
  const syncNow = (fd: number): void => {
    fdatasyncSync(fd);
    counts.syncs++;
  };
  /** A sync on the thread pool (one took ~2.5 ms here: on the event loop it stalled every call in flight). */
  const syncLater = (fd: number): Promise<void> =>
    new Promise<void>((ok, fail) =>
      fdatasync(fd, (e) => {
        if (e) return fail(e);
        counts.syncs++;
        ok();
      }),
    );
  let lastError: string | null = null;
  /** Appends since the last delivery attempt, and when it was. */
  let sinceDelivery = 0;
  let lastAttempt = Date.now();
  /** The next flush delivers (else it only syncs). */
  let deliverWanted = false;
  /** Records appended this turn, written together at its end. */
  let group: Group | null = null;
  let soon = false;

  /** Seals and directory syncs under way on the thread pool; `close` waits for them. */
  const background = new Set<Promise<void>>();
  const inBackground = (p: Promise<void>, what: string): void => {
    const tracked = p
      .catch((e: unknown) => log.error(`spool: ${what} failed`, { dir, error: errorMessage(e) }))
      .finally(() => background.delete(tracked));
    background.add(tracked);
  };

  const openActive = (): Active => {
    const seq = nextSeq++;
    const fd = openSync(path(segmentName(seq)), 'wx');
    // The new file's directory entry, made durable off the event loop (it matters only with its first sync).
    inBackground(syncDirLater(dir), 'syncing the directory');
    return { seq, fd, size: 0, committed: 0, records: 0, synced: Promise.resolve() };
  };

  /**
   * Queues the active segment for delivery and returns it, to be synced and closed; the next append opens a new
   * one. Sealed before the sync: even if that fails, its records stay queued.
   */
  const detachActive = (): Active | null => {
    const a = active;
    if (a === null) return null;
    active = null;
    dirty = false;
    sealed.push({ seq: a.seq, size: a.size, committed: 0 });
    return a;
  };

  /** Syncs a segment on the thread pool, after the syncs of it under way; appends go on meanwhile. */
  const syncAfter = (a: Active): Promise<void> => {
    const p = a.synced.then(() => syncLater(a.fd));
    a.synced = p.catch(() => undefined);
    return p;
  };

  /** Syncs and closes a segment no longer active (no sync of it can start after this one). */
  const syncAndClose = async (a: Active): Promise<void> => {
    try {
      await syncAfter(a);
    } finally {
      closeSync(a.fd);
    }
  };

  /** Seals the active segment: synced and closed on the thread pool (`close` waits for it). */
  const rotate = (): void => {
    const a = detachActive();
    if (a !== null) inBackground(syncAndClose(a), 'sealing a segment');
  };

  /** Syncs the active segment on the thread pool; appends go on meanwhile (a later sync covers them). */
  const syncActive = (a: Active): Promise<void> => {
    dirty = false;
    return syncAfter(a);
  };

  /** Whether a delivery is due at a timer tick. */
  const deliveryDue = (): boolean => {
    if (sealed.length === 0 && (active === null || active.records === 0)) return false;
    const waited = Date.now() - lastAttempt;
    const f = counts.failures;
    if (f > 0) return waited >= Math.min(maxBackoffMs, options.flushMs * 2 ** (f - 1));
    return waited >= deliverMs || sinceDelivery >= options.batchSize || sealed.length > 0;
  };

  /** Writes this turn's records to the active segment (rotating it when full), and settles their `written()`. */
  const writeGroup = (): void => {
    const g = group;
    if (g === null) return;
    group = null;
    const buf = Buffer.from(g.text, 'utf8');
    try {
      active ??= openActive();
      writeAll(active.fd, buf);
      if (options.fsync === 'always') syncNow(active.fd);
    } catch (e: unknown) {
      // A partial group may be in the file: seal it there, so the next group starts a clean segment (a torn last
      // line is skipped when the segment is read). Its whole lines will be delivered: they count as waiting.
      if (active !== null) {
        let written = buf.length;
        try {
          written = Math.min(buf.length, Math.max(0, fstatSync(active.fd).size - active.size));
        } catch {
          // The size stays a guess: delivery reads the file as it is.
        }
        const lines = countLines(buf.subarray(0, written), 0);
        active.size += written;
        active.records += lines;
        counts.appended += lines;
        pending += lines;
      }
      rotate();
      log.error('spool: cannot write records', { records: g.count, dir, error: errorMessage(e) });
      g.fail(
        new AppError('gateway.spool_write_failed', `cannot append to the spool in ${dir}`, {
          retryable: true,
          cause: e,
        }),
      );
      return;
    }
    active.size += buf.length;
    active.records += g.count;
    counts.appended += g.count;
    pending += g.count;
    dirty = true;
    if (active.size >= maxSegmentBytes) rotate();
    g.ok();
  };

  const onFailure = (e: unknown): void => {
    counts.failures++;
    lastError = errorMessage(e);
    if (counts.failures === 1 || counts.failures % 10 === 0) {
      log.warn('store unavailable; usage records wait in the spool', {
        failures: counts.failures,
        pendingRecords: pending,
        error: lastError,
      });
    }
  };

  /**
   * Stores one batch of `count` records (`send` does it, at once) and moves the segment's committed offset past it.
   * False when the store refused.
   */
  const deliver = async (
    seg: Segment,
    count: number,
    send: () => Promise<LinesOutcome | undefined>,
    end: number,
    /** The segment's last batch: the segment is deleted next, no offset is saved for it. */
    last = false,
  ): Promise<boolean> => {
    if (count > 0) {
      let unreadable = 0;
      try {
        unreadable = (await send())?.unreadable ?? 0;
      } catch (e: unknown) {
        onFailure(e);
        return false;
      }
      counts.corrupt += unreadable;
      counts.written += count - unreadable;
      pending -= count;
      if (counts.failures > 0) log.info('store back; spool draining', { after: counts.failures });
      counts.failures = 0;
    }
    seg.committed = end;
    // The offset file only spares a restarted gateway the batches delivered already (the store would drop them as
    // repeats anyway): a segment delivered to its end is deleted instead, and an offset that cannot be written (a
    // full disk) is not a store failure.
    if (last) return true;
    const tmp = path(`${offsetName(seg.seq)}.tmp`);
    try {
      await writeFile(tmp, String(end));
      await rename(tmp, path(offsetName(seg.seq)));
    } catch (e: unknown) {
      await unlinkIfPresent(tmp).catch(() => undefined);
      log.warn(
        'spool: cannot save the delivered offset; a restart would deliver those records again',
        {
          segment: segmentName(seg.seq),
          error: errorMessage(e),
        },
      );
    }
    return true;
  };

  /** Delivers one sealed segment from its committed offset. False when the store refused a batch. */
  const drain = async (seg: Segment): Promise<boolean> => {
    const name = segmentName(seg.seq);
    const data = await readFile(path(name));
    let pos = seg.committed;
    // A batch's store write has a fixed cost (one statement, one commit), so a tail of under a quarter batch rides
    // with the batch before it: a flush set off by `batchSize` appends finds a few more that came in meanwhile, and
    // delivering those alone cost a fifth as much as the full batch (measured with the DuckDB store).
    let left = countLines(data, pos);
    const tail = Math.floor(options.batchSize / 4);
    /** The batch so far: its first byte, its lines, and (with `write`) its records. */
    let start = pos;
    let count = 0;
    let batch: T[] = [];
    /** Hands the batch so far (up to byte `end`) to the writer. */
    const send = async (end: number): Promise<LinesOutcome | undefined> => {
      if (writeLines !== undefined) return await writeLines(data.subarray(start, end), count);
      await (write as (records: T[]) => Promise<void>)(batch);
      return undefined;
    };
    while (pos < data.length) {
      const nl = data.indexOf(10, pos);
      if (nl === -1) {
        counts.corrupt++;
        log.warn('spool: skipped a torn last line', { segment: name, offset: pos });
        break;
      }
      if (nl > pos) {
        left--;
        if (writeLines !== undefined) count++;
        else {
          try {
            batch.push(deserialize(data.toString('utf8', pos, nl)));
            count++;
          } catch (e: unknown) {
            counts.corrupt++;
            pending--;
            log.warn('spool: skipped an unreadable line', {
              segment: name,
              offset: pos,
              error: errorMessage(e),
            });
          }
        }
      }
      pos = nl + 1;
      if (count >= options.batchSize && left >= tail) {
        if (!(await deliver(seg, count, () => send(pos), pos))) return false;
        start = pos;
        count = 0;
        batch = [];
      }
    }
    // The last batch; a torn last line (counted above) is passed over with it.
    return deliver(seg, count, () => send(pos), data.length, true);
  };

  /** `rotate`, waiting for the sync: the segment stops being active at once. */
  const sealActive = async (): Promise<void> => {
    const a = detachActive();
    if (a !== null) await syncAndClose(a);
  };

  /**
   * One flush. Without a delivery: sync the active segment. With one: seal the active segment if nothing older
   * waits (else sync it: it stays open), deliver sealed segments in order.
   */
  const flushOnce = async (): Promise<void> => {
    writeGroup();
    const deliver = deliverWanted;
    deliverWanted = false;
    if (active !== null && dirty && options.fsync !== 'always' && (!deliver || sealed.length > 0))
      await syncActive(active);
    if (!deliver) return;
    sinceDelivery = 0;
    lastAttempt = Date.now();
    let sealedNow = false;
    for (;;) {
      const seg = sealed[0];
      if (seg === undefined) {
        if (sealedNow || active === null || active.records === 0) {
          // Everything is delivered: whatever failed before (the store, a local read), nothing waits now.
          if (counts.failures > 0) log.info('spool: delivered', { after: counts.failures });
          counts.failures = 0;
          return;
        }
        await sealActive();
        sealedNow = true;
        continue;
      }
      try {
        if (!(await drain(seg))) return;
      } catch (e: unknown) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        log.error('spool: a segment was deleted before delivery', {
          segment: segmentName(seg.seq),
        });
      }
      sealed.shift();
      await unlinkIfPresent(path(segmentName(seg.seq)));
      await unlinkIfPresent(path(offsetName(seg.seq)));
    }
  };

  let running: Promise<void> | null = null;
  let queued: Promise<void> | null = null;
  const runFlush = async (): Promise<void> => {
    try {
      await flushOnce();
    } catch (e: unknown) {
      onFailure(e); // local I/O (reading a segment): retried like a store failure
    }
  };
  /**
   * Serialized: a flush asked for while one runs starts after it (and covers what was appended meanwhile). `deliver`
   * false only syncs, unless a delivery was asked for meanwhile.
   */
  const requestFlush = (deliver: boolean): Promise<void> => {
    if (deliver) deliverWanted = true;
    if (queued !== null) return queued;
    if (running === null) {
      running = runFlush().finally(() => {
        running = null;
      });
      return running;
    }
    queued = running.then(() => {
      queued = null;
      return requestFlush(false);
    });
    return queued;
  };

  const timer = setInterval(() => void requestFlush(deliveryDue()), options.flushMs);
  timer.unref();
  if (sealed.length > 0) setImmediate(() => void requestFlush(true));

  return {
    append(record) {
      if (closed) throw new AppError('gateway.spool_closed', 'the spool is closed');
      const line = serialize(record);
      if (line.includes('\n')) {
        throw new AppError('gateway.spool_bad_record', 'a serialized record must be one line');
      }
      if (group === null) {
        group = newGroup();
        setImmediate(writeGroup);
      }
      group.text += `${line}\n`;
      group.count++;
      if (++sinceDelivery >= options.batchSize && counts.failures === 0 && !soon) {
        soon = true;
        setImmediate(() => {
          soon = false;
          void requestFlush(true);
        });
      }
    },

    written: () => group?.done ?? WRITTEN,

    canServe: () => !(options.onStoreDown === 'fail_closed' && counts.failures > 0),

    flush: () => requestFlush(true),

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      writeGroup();
      await requestFlush(true);
      if (active !== null) {
        const a = active;
        active = null;
        await syncAndClose(a);
      }
      await Promise.all(background);
      await unlinkIfPresent(lockPath);
    },

    stats() {
      const segs = active === null ? sealed : [...sealed, active];
      return {
        appended: counts.appended,
        written: counts.written,
        pendingRecords: pending + (group?.count ?? 0),
        pendingBytes: segs.reduce((s, g) => s + g.size - g.committed, 0),
        segments: segs.length,
        storeDown: counts.failures > 0,
        consecutiveFailures: counts.failures,
        lastError,
        corruptLines: counts.corrupt,
        replayedSegments,
        syncs: counts.syncs,
      };
    },
  };
}

/**
 * Takes `dir/LOCK` for this process. A lock held by another live process is an error (two spools on one
 * directory would deliver each other's segments); a stale one (dead process) is taken over.
 */
function takeLock(dir: string): string {
  const lock = join(dir, 'LOCK');
  try {
    const fd = openSync(lock, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return lock;
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const holder = Number(readFileSync(lock, 'utf8').trim());
  if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
    throw new AppError('gateway.spool_locked', `the spool ${dir} is in use by process ${holder}`);
  }
  const fd = openSync(lock, 'w');
  writeSync(fd, String(process.pid));
  closeSync(fd);
  return lock;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOffset(file: string): number {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  } catch {
    return 0; // none yet (or unreadable): replay the whole segment; the store dedupes
  }
}

/** Complete lines (newline-terminated, non-empty) from `from`. */
function countLines(data: Buffer, from: number): number {
  let n = 0;
  for (let pos = from; pos < data.length; ) {
    const nl = data.indexOf(10, pos);
    if (nl === -1) break;
    if (nl > pos) n++;
    pos = nl + 1;
  }
  return n;
}

/** Makes a new file's directory entry durable. */
async function syncDirLater(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/**
 * The default line format: `{"r":<record>}`, or `{"r":<record>,"b":[<paths>]}` when the record holds bigint values,
 * which are written as decimal strings and listed by path so they come back as bigint (a string that merely looks
 * like a number stays a string). Other values follow JSON (a Date becomes its ISO string).
 */
export function encodeLine(record: unknown): string {
  // Most records hold no bigint: JSON.stringify alone (it throws a TypeError on one) beats walking the record first.
  try {
    return `{"r":${JSON.stringify(record)}}`;
  } catch (e: unknown) {
    if (!(e instanceof TypeError) || !hasBigint(record)) throw e;
  }
  const paths: (string | number)[][] = [];
  const at: (string | number)[] = [];
  const plain = (v: unknown): unknown => {
    if (typeof v === 'bigint') {
      paths.push([...at]);
      return v.toString();
    }
    if (v === null || typeof v !== 'object') return v;
    const toJson = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJson === 'function') return toJson.call(v);
    if (Array.isArray(v)) {
      return v.map((x, i) => {
        at.push(i);
        const out = plain(x);
        at.pop();
        return out;
      });
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      at.push(k);
      out[k] = plain(x);
      at.pop();
    }
    return out;
  };
  const r = plain(record);
  return JSON.stringify({ r, b: paths });
}

/** Whether a bigint occurs anywhere in a value (cheaper than letting JSON.stringify throw). */
function hasBigint(v: unknown): boolean {
  if (typeof v === 'bigint') return true;
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some(hasBigint);
  for (const k in v) if (hasBigint((v as Record<string, unknown>)[k])) return true;
  return false;
}

/** Reads a line written by `encodeLine`; throws on anything else. */
export function decodeLine(line: string): unknown {
  const o: unknown = JSON.parse(line);
  if (o === null || typeof o !== 'object' || !Object.hasOwn(o, 'r')) {
    throw new Error('not a spool line');
  }
  const { r, b } = o as { r: unknown; b?: unknown };
  if (b === undefined) return r;
  if (!Array.isArray(b)) throw new Error('bad bigint paths');
  let root = r;
  for (const p of b) {
    if (!Array.isArray(p)) throw new Error('bad bigint path');
    if (p.length === 0) {
      root = toBigint(root);
      continue;
    }
    let holder: unknown = root;
    for (let i = 0; i < p.length - 1; i++) holder = child(holder, p[i]);
    const last = p[p.length - 1] as string | number;
    (holder as Record<string | number, unknown>)[last] = toBigint(child(holder, last));
  }
  return root;
}

function child(holder: unknown, key: unknown): unknown {
  if (
    holder === null ||
    typeof holder !== 'object' ||
    (typeof key !== 'string' && typeof key !== 'number') ||
    !Object.hasOwn(holder, key)
  ) {
    throw new Error('bad bigint path');
  }
  return (holder as Record<string | number, unknown>)[key];
}

function toBigint(v: unknown): bigint {
  if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw new Error('bad bigint value');
  return BigInt(v);
}
