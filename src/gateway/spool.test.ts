import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { AppError, type Logger } from '../core/index.ts';
import { createSpool, decodeLine, encodeLine, type Spool, type SpoolOptions } from './spool.ts';

interface Rec {
  readonly id: string;
  readonly costPicos: bigint;
}

const dirs: string[] = [];
const spools: Spool<Rec>[] = [];
afterEach(async () => {
  for (const s of spools.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tl-spool-'));
  dirs.push(d);
  return d;
}

/** A store that can be taken down; it keeps what it accepted. */
function fakeStore() {
  const store = {
    down: false,
    /** Fail every n-th call even when up (0: never). */
    flakyEvery: 0,
    calls: 0,
    written: [] as Rec[],
    async write(records: Rec[]) {
      store.calls++;
      if (store.down || (store.flakyEvery > 0 && store.calls % store.flakyEvery === 0)) {
        throw new Error('store unavailable');
      }
      store.written.push(...records);
    },
  };
  return store;
}

const quiet: Logger & { warnings: string[] } = {
  warnings: [],
  info() {},
  warn(message) {
    quiet.warnings.push(message);
  },
  error() {},
};

function open(
  dir: string,
  store: ReturnType<typeof fakeStore>,
  more: Partial<SpoolOptions<Rec>> = {},
) {
  const spool = createSpool<Rec>({
    dir,
    write: store.write,
    batchSize: 64,
    flushMs: 3_600_000, // no timed flushes during a test: the test flushes
    onStoreDown: 'serve',
    log: quiet,
    ...more,
  });
  spools.push(spool);
  return spool;
}

const rec = (i: number): Rec => ({ id: `req-${i}`, costPicos: 1_000_000_000n * BigInt(i) });
const ids = (rs: readonly Rec[]) => rs.map((r) => r.id);
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `req-${from + i}`);
const segmentFiles = (dir: string) => readdirSync(dir).filter((f) => f !== 'LOCK');

describe('spool: store down', () => {
  test('1,000 appends while the store is down: all 1,000 written once after recovery, in order', async () => {
    const dir = tempDir();
    const store = fakeStore();
    const spool = open(dir, store, { maxSegmentBytes: 8 * 1024 });
    store.down = true;
    for (let i = 0; i < 1000; i++) {
      spool.append(rec(i));
      if (i % 100 === 99) await spool.flush(); // retries during the outage fail and keep everything
    }
    let s = spool.stats();
    assert.equal(s.storeDown, true);
    assert.equal(s.pendingRecords, 1000);
    assert.ok(s.segments > 1, 'segments rotated while the store was down');
    assert.equal(spool.canServe(), true, 'onStoreDown: serve keeps serving');
    assert.equal(store.written.length, 0);
    store.down = false;
    await spool.flush();
    assert.deepEqual(ids(store.written), range(1000));
    s = spool.stats();
    assert.deepEqual(
      [s.written, s.pendingRecords, s.pendingBytes, s.storeDown],
      [1000, 0, 0, false],
    );
    assert.deepEqual(segmentFiles(dir), [], 'delivered segments are deleted');
    assert.equal(store.written[999]?.costPicos, 999_000_000_000n, 'bigint values round-trip');
  });

  test('a flaky store (every third batch fails): still exactly once each', async () => {
    const dir = tempDir();
    const store = fakeStore();
    store.flakyEvery = 3;
    const spool = open(dir, store, { batchSize: 50 });
    for (let i = 0; i < 1000; i++) spool.append(rec(i));
    for (let i = 0; i < 40 && spool.stats().pendingRecords > 0; i++) await spool.flush();
    assert.deepEqual(ids(store.written), range(1000));
  });

  test('a remainder of under a quarter batch goes with the batch before it', async () => {
    const sizes = async (n: number) => {
      const batches: number[] = [];
      const spool = open(tempDir(), fakeStore(), {
        batchSize: 100,
        write: async (records) => {
          batches.push(records.length);
        },
      });
      for (let i = 0; i < n; i++) spool.append(rec(i));
      await spool.flush();
      return batches;
    };
    assert.deepEqual(await sizes(124), [124]);
    assert.deepEqual(await sizes(125), [100, 25]);
    assert.deepEqual(await sizes(324), [100, 100, 124]);
  });

  test('fail_closed: the gateway may not serve while the store is down', async () => {
    const store = fakeStore();
    const spool = open(tempDir(), store, { onStoreDown: 'fail_closed' });
    spool.append(rec(1));
    assert.equal(spool.canServe(), true);
    store.down = true;
    await spool.flush();
    assert.equal(spool.canServe(), false);
    store.down = false;
    await spool.flush();
    assert.equal(spool.canServe(), true);
    assert.deepEqual(ids(store.written), ['req-1']);
  });
});

describe('spool: local trouble is not a store outage', () => {
  test('an offset that cannot be saved (a full disk) neither stops delivery nor keeps a fail_closed gateway shut', async () => {
    const dir = tempDir();
    const store = fakeStore();
    const spool = open(dir, store, { onStoreDown: 'fail_closed', batchSize: 10 });
    // The first segment's offset file cannot be written: a directory stands where its temporary file goes.
    mkdirSync(join(dir, '0000000000000001.offset.tmp'));
    for (let i = 0; i < 35; i++) spool.append(rec(i));
    await spool.flush();
    assert.deepEqual(ids(store.written), range(35), 'every batch delivered, once');
    assert.equal(spool.stats().storeDown, false);
    assert.equal(spool.canServe(), true);
    assert.ok(quiet.warnings.some((w) => /cannot save the delivered offset/.test(w)));
    assert.ok(
      !segmentFiles(dir).includes('0000000000000001.jsonl'),
      'the delivered segment is gone',
    );
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits (up to 10 s) until `done`; false if it never was. */
async function until(done: () => boolean): Promise<boolean> {
  for (let waited = 0; waited < 10_000; waited += 10) {
    if (done()) return true;
    await sleep(10);
  }
  return done();
}

describe('spool: group writes', () => {
  test("a turn's records go to the segment together at its end; written() resolves then", async () => {
    const dir = tempDir();
    const spool = open(dir, fakeStore());
    const bytes = () =>
      segmentFiles(dir)
        .filter((f) => f.endsWith('.jsonl'))
        .reduce((n, f) => n + readFileSync(join(dir, f)).length, 0);
    for (let i = 0; i < 10; i++) spool.append(rec(i));
    assert.equal(bytes(), 0, 'nothing written during the turn');
    assert.equal(spool.stats().pendingRecords, 10, 'but counted as pending');
    await spool.written();
    const lines = segmentFiles(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
    assert.deepEqual(
      lines.map((l) => (decodeLine(l) as Rec).id),
      range(10),
    );
    assert.ok(bytes() > 0);
    await spool.written(); // nothing pending: resolves at once
  });
});

test('full segments are synced and closed off the event loop, and close waits for them', async () => {
  const dir = tempDir();
  const store = fakeStore();
  store.down = true; // segments stay on disk
  const spool = createSpool<Rec>({
    dir,
    write: store.write,
    batchSize: 100_000,
    flushMs: 3_600_000,
    onStoreDown: 'serve',
    log: quiet,
    maxSegmentBytes: 2048,
  });
  for (let turn = 0; turn < 20; turn++) {
    for (let i = 0; i < 10; i++) spool.append(rec(turn * 10 + i));
    await spool.written();
  }
  const segments = segmentFiles(dir).filter((f) => f.endsWith('.jsonl')).length;
  assert.ok(segments > 5, `${segments} segments`);
  await spool.close();
  assert.ok(spool.stats().syncs >= segments, `${spool.stats().syncs} syncs, ${segments} segments`);
  const leftOpen = readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
    } catch {
      return false;
    }
  });
  assert.deepEqual(leftOpen, [], 'no segment left open');
  const again = open(dir, fakeStore());
  await again.flush();
  assert.equal(again.stats().written, 200);
});

test("a group write the file system refuses fails that turn's written(), and the spool goes on in a new segment", {
  skip: existsSync('/usr/bin/prlimit') ? false : 'prlimit (util-linux) is not installed',
}, async () => {
  // The file system runs out under a child process: once it has started (tsx and its cache need to write), prlimit
  // caps the size of any file it writes at 16 KiB, so appending past that fails with EFBIG (Node ignores SIGXFSZ),
  // as it would on a full disk (ENOSPC; root ignores permissions, so a read-only directory cannot do it).
  const dir = tempDir();
  const spoolModule = resolve(import.meta.dirname, 'spool.ts');
  const child = `
    const { createSpool } = await import(${JSON.stringify(spoolModule)});
    const errors = [];
    const log = { info() {}, warn() {}, error(message) { errors.push(message); } };
    const spool = createSpool({ dir: ${JSON.stringify(dir)}, write: async () => { throw new Error('down'); },
      batchSize: 100000, flushMs: 3600000, onStoreDown: 'serve', log });
    console.log('READY');
    await new Promise((go) => process.stdin.once('data', go));
    const ok = [], failed = [];
    for (let turn = 0; turn < 40; turn++) {
      for (let i = turn * 50; i < turn * 50 + 50; i++) spool.append({ id: 'req-' + i, costPicos: BigInt(i) });
      try { await spool.written(); ok.push(turn); } catch (e) { failed.push({ turn, code: e.code }); }
    }
    const pending = spool.stats().pendingRecords;
    await spool.close();
    console.log(JSON.stringify({ ok, failed, errors, pending }));
    process.stdin.destroy();`;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], {
    cwd: resolve(import.meta.dirname, '../..'),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((ok) => proc.once('exit', ok));
  await new Promise<void>((ready) =>
    proc.stdout.on('data', (d) => {
      out += d;
      if (out.includes('READY\n')) ready();
    }),
  );
  const limit = spawnSync('prlimit', [`--pid=${proc.pid}`, '--fsize=16384:16384'], {
    encoding: 'utf8',
  });
  assert.equal(limit.status, 0, limit.stderr);
  proc.stdin.write('go\n');
  assert.equal(await exited, 0, err);
  const result = JSON.parse(out.slice(out.indexOf('READY\n') + 6)) as {
    ok: number[];
    failed: { turn: number; code: string }[];
    errors: string[];
    pending: number;
  };
  assert.ok(result.failed.length >= 2, `failed turns: ${JSON.stringify(result.failed)}`);
  assert.ok(result.failed.every((f) => f.code === 'gateway.spool_write_failed'));
  assert.ok(result.ok.length >= 20, `turns written: ${result.ok.length}`);
  assert.ok(result.errors.includes('spool: cannot write records'));
  // Everything a resolved written() covered is there, once; of a refused turn only whole lines that made it in.
  const store = fakeStore();
  const again = open(dir, store);
  // The whole lines of refused turns are in the files, and counted as waiting: by the spool that wrote them, and by
  // the one that finds them.
  assert.equal(result.pending, again.stats().pendingRecords);
  await again.flush();
  const got = ids(store.written);
  assert.equal(new Set(got).size, got.length, 'no record twice');
  assert.equal(got.length, result.pending, 'every record counted as waiting was delivered');
  const all = new Set(range(2000));
  assert.ok(
    got.every((id) => all.has(id)),
    'nothing but the records appended',
  );
  const have = new Set(got);
  for (const turn of result.ok)
    for (const id of range(50, turn * 50))
      assert.ok(have.has(id), `${id} (turn ${turn}) is missing`);
});

describe('spool: cadence', () => {
  test('records are synced every flushMs and reach the store after deliverMs, not before', async () => {
    const store = fakeStore();
    const spool = open(tempDir(), store, { flushMs: 10, deliverMs: 400, batchSize: 1000 });
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) spool.append(rec(i));
    await sleep(150);
    assert.deepEqual(store.written, [], 'not delivered before deliverMs');
    assert.ok(spool.stats().syncs >= 1, 'the segment was synced meanwhile');
    assert.ok(await until(() => store.written.length === 5), 'delivered after deliverMs');
    assert.ok(Date.now() - t0 >= 400);
    assert.deepEqual(ids(store.written), range(5));
  });

  test('batchSize waiting records are delivered at once, whatever deliverMs', async () => {
    const store = fakeStore();
    const spool = open(tempDir(), store, {
      flushMs: 3_600_000,
      deliverMs: 3_600_000,
      batchSize: 50,
    });
    for (let i = 0; i < 50; i++) spool.append(rec(i));
    assert.ok(await until(() => store.written.length === 50));
    assert.deepEqual(ids(store.written), range(50));
  });

  test('while the store is down, retries back off but the segment is still synced every flushMs', async () => {
    const store = fakeStore();
    const spool = open(tempDir(), store, { flushMs: 10, deliverMs: 10 });
    store.down = true;
    spool.append(rec(0));
    for (let i = 0; i < 8; i++) await spool.flush(); // 8 failures: the next retry waits 10 ms × 2^7
    const calls = store.calls;
    const syncs = spool.stats().syncs;
    for (let i = 1; i <= 15; i++) {
      spool.append(rec(i));
      await sleep(20);
    }
    assert.equal(store.calls, calls, 'no retry before the backoff ran out');
    assert.ok(
      spool.stats().syncs >= syncs + 3,
      `synced during the outage (${spool.stats().syncs - syncs})`,
    );
    store.down = false;
    await spool.flush();
    assert.deepEqual(ids(store.written), range(16));
  });
});

describe('spool: restart', () => {
  test('a new instance on the same directory replays what an abandoned one left, resuming at its offset', async () => {
    const dir = tempDir();
    const first = fakeStore();
    const a = open(dir, first, { batchSize: 100 });
    for (let i = 0; i < 300; i++) a.append(rec(i));
    first.flakyEvery = 2; // the first batch is stored, the second fails: 100 delivered, 200 left
    await a.flush();
    assert.equal(first.written.length, 100);
    // "Crash": a is never closed or used again, and its store stays down so a queued retry cannot deliver.
    first.down = true;
    spools.pop();
    const second = fakeStore();
    const b = open(dir, second, { batchSize: 100 });
    assert.equal(b.stats().replayedSegments, 1);
    assert.equal(b.stats().pendingRecords, 200);
    b.append(rec(300));
    await b.flush();
    assert.deepEqual(ids(second.written), range(201, 100), 'replayed first, nothing twice');
  });

  test('a torn last line and a corrupt line are skipped and counted, not fatal', async () => {
    const dir = tempDir();
    const lines = [encodeLine(rec(1)), '{"r":{"id":', encodeLine(rec(2)), encodeLine(rec(3))];
    writeFileSync(
      join(dir, '0000000000000007.jsonl'),
      `${lines.join('\n')}\n{"r":{"id":"req-4","cos`,
    );
    const store = fakeStore();
    const spool = open(dir, store);
    await spool.flush();
    assert.deepEqual(ids(store.written), ['req-1', 'req-2', 'req-3']);
    assert.equal(spool.stats().corruptLines, 2);
    assert.equal(spool.stats().pendingRecords, 0);
    spool.append(rec(5));
    await spool.flush();
    assert.equal(store.written.at(-1)?.id, 'req-5');
    assert.ok(
      readdirSync(dir).every((f) => !f.startsWith('0000000000000007')),
      'new segments follow',
    );
  });

  test('a writer of raw lines gets whole lines in batches; lines it cannot read are counted, none twice', async () => {
    const dir = tempDir();
    const got: string[] = [];
    const counts: number[] = [];
    const spool = createSpool<Rec>({
      dir,
      batchSize: 2,
      flushMs: 3_600_000,
      onStoreDown: 'serve',
      log: quiet,
      writeLines: async (bytes, count) => {
        counts.push(count);
        let unreadable = 0;
        for (const line of bytes.toString('utf8').split('\n')) {
          if (line === '') continue;
          const r = decodeLine(line) as Rec;
          if (r.id === 'req-2') unreadable++;
          else got.push(r.id);
        }
        return { unreadable };
      },
    });
    spools.push(spool);
    for (let i = 1; i <= 5; i++) spool.append(rec(i));
    await spool.flush();
    assert.deepEqual(got, ['req-1', 'req-3', 'req-4', 'req-5']);
    assert.deepEqual(counts, [2, 2, 1]);
    assert.deepEqual(
      { corrupt: spool.stats().corruptLines, written: spool.stats().written },
      { corrupt: 1, written: 4 },
    );
    assert.equal(spool.stats().pendingRecords, 0);
    await spool.flush();
    assert.equal(got.length, 4, 'nothing delivered twice');
  });

  test('a torn last line is not handed to a raw-lines writer', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, '0000000000000003.jsonl'),
      `${encodeLine(rec(1))}\n\n${encodeLine(rec(2))}\n{"r":{"id":"req-3","cos`,
    );
    const seen: string[] = [];
    const spool = createSpool<Rec>({
      dir,
      batchSize: 64,
      flushMs: 3_600_000,
      onStoreDown: 'serve',
      log: quiet,
      writeLines: async (bytes, count) => {
        assert.equal(count, 2);
        assert.ok(bytes.toString('utf8').endsWith('\n'), 'whole lines only');
        seen.push(
          ...bytes
            .toString('utf8')
            .split('\n')
            .filter((l) => l !== ''),
        );
        return { unreadable: 0 };
      },
    });
    spools.push(spool);
    await spool.flush();
    assert.deepEqual(
      seen.map((l) => (decodeLine(l) as Rec).id),
      ['req-1', 'req-2'],
    );
    assert.equal(spool.stats().corruptLines, 1);
    assert.equal(spool.stats().pendingRecords, 0);
  });

  test('a spool takes exactly one of write and writeLines', () => {
    assert.throws(
      () =>
        createSpool<Rec>({
          dir: tempDir(),
          batchSize: 1,
          flushMs: 1000,
          onStoreDown: 'serve',
          log: quiet,
        }),
      /exactly one/,
    );
  });

  test('a process killed with SIGKILL once written() resolved loses nothing', async () => {
    const dir = tempDir();
    const spoolModule = resolve(import.meta.dirname, 'spool.ts');
    const child = `
      const { createSpool } = await import(${JSON.stringify(spoolModule)});
      const log = { info() {}, warn() {}, error() {} };
      const spool = createSpool({ dir: ${JSON.stringify(dir)}, write: async () => { throw new Error('down'); },
        batchSize: 100, flushMs: 3600000, onStoreDown: 'serve', log, maxSegmentBytes: 4096 });
      for (let turn = 0; turn < 5; turn++) {
        for (let i = turn * 100; i < turn * 100 + 100; i++) spool.append({ id: 'req-' + i, costPicos: BigInt(i) });
        await spool.written();
      }
      process.kill(process.pid, 'SIGKILL');`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], {
      cwd: resolve(import.meta.dirname, '../..'),
      encoding: 'utf8',
    });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const store = fakeStore();
    const spool = open(dir, store); // the dead process's lock is stale: taken over
    await spool.flush();
    assert.deepEqual(ids(store.written), range(500));
    assert.equal(store.written[499]?.costPicos, 499n);
  });

  test('close leaves undelivered records for the next start; append after close throws', async () => {
    const dir = tempDir();
    const store = fakeStore();
    store.down = true;
    const a = open(dir, store);
    a.append(rec(1));
    await a.close();
    assert.throws(
      () => a.append(rec(2)),
      (e: unknown) => e instanceof AppError && e.code === 'gateway.spool_closed',
    );
    store.down = false;
    const b = open(dir, store);
    await b.flush();
    assert.deepEqual(ids(store.written), ['req-1']);
  });

  test('a directory locked by another live process is refused', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'LOCK'), String(process.ppid));
    assert.throws(
      () => open(dir, fakeStore()),
      (e: unknown) => e instanceof AppError && e.code === 'gateway.spool_locked',
    );
  });
});

describe('spool line format', () => {
  test('bigint values round-trip exactly; look-alike strings stay strings', () => {
    const record = {
      id: 'r',
      cost: { picos: 123_456_789_012_345_678_901_234_567_890n, text: '42' },
      list: [1n, -2n, 'x', null],
      plain: 7,
    };
    assert.deepEqual(decodeLine(encodeLine(record)), record);
    assert.equal(decodeLine(encodeLine(5n)), 5n);
    assert.deepEqual(decodeLine(encodeLine({ a: 1 })), { a: 1 });
  });

  test('a line that is not ours is refused', () => {
    for (const bad of [
      '{}',
      '[]',
      '{"r":{"a":"x"},"b":[["a"]]}',
      '{"r":{},"b":[["__proto__","x"]]}',
    ]) {
      assert.throws(() => decodeLine(bad), Error, bad);
    }
  });
});
