/**
 * The `CounterStore` contract as tests, run by each implementation's test file (memory, Redis) so they behave alike.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { type CounterStore, type CounterWindow, HOLD_SWEEP_MAX } from './counter-store.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 23, 10); // on an hour boundary
const day = (start: number): CounterWindow => ({ kind: 'period', start, end: start + 24 * HOUR });
const rolling24h: CounterWindow = { kind: 'rolling', bucketMs: HOUR, buckets: 25 };

export type StoreUnderTest = CounterStore & { close?(): Promise<void> };

/**
 * Registers the contract tests under `describe(name)`. `make` gives a fresh, empty store per test (closed after it);
 * `skip` skips them all with that reason (an implementation whose backing service is missing).
 */
export function counterStoreContract(
  name: string,
  make: () => Promise<StoreUnderTest>,
  options?: { readonly skip?: string },
): void {
  const open = async (t: TestContext): Promise<CounterStore> => {
    const store = await make();
    t.after(() => store.close?.());
    return store;
  };

  describe(name, { ...(options?.skip === undefined ? {} : { skip: options.skip }) }, () => {
    test('reserve is all or nothing over its counters', async (ctx) => {
      const store = await open(ctx);
      const w = day(T0);
      const ops = [
        { key: 'a', window: w, limit: 100n, reserve: 60n, spend: 0n },
        { key: 'b', window: w, limit: 50n, reserve: 60n, spend: 0n },
      ];
      const refused = await store.reserve(ops, T0);
      assert.equal(refused.ok, false);
      assert.equal(refused.ok ? -1 : refused.failed, 1);
      assert.deepEqual(
        await store.read(
          ['a', 'b'].map((key) => ({ key, window: w })),
          T0,
        ),
        [
          { spent: 0n, reserved: 0n },
          { spent: 0n, reserved: 0n },
        ],
        'the op that fitted was not applied either',
      );
      const ok = await store.reserve(
        [{ key: 'a', window: w, limit: 100n, reserve: 60n, spend: 0n }],
        T0,
      );
      assert.equal(ok.ok, true);
      const second = await store.reserve(
        [{ key: 'a', window: w, limit: 100n, reserve: 41n, spend: 0n }],
        T0,
      );
      assert.equal(second.ok, false, 'reservations count against the limit');
      assert.deepEqual(second.levels, [{ spent: 0n, reserved: 60n }]);
    });

    test('a null limit counts but never refuses', async (ctx) => {
      const store = await open(ctx);
      const w = day(T0);
      const r = await store.reserve(
        [{ key: 'w', window: w, limit: null, reserve: 10n ** 20n, spend: 0n }],
        T0,
      );
      assert.equal(r.ok, true);
    });

    test('commit moves a reservation to spend; releasing more than held clamps to zero', async (ctx) => {
      const store = await open(ctx);
      const w = day(T0);
      await store.reserve([{ key: 'a', window: w, limit: null, reserve: 50n, spend: 0n }], T0);
      await store.commit([{ key: 'a', window: w, release: 50n, spend: 30n, at: T0 }], T0);
      assert.deepEqual(await store.read([{ key: 'a', window: w }], T0), [
        { spent: 30n, reserved: 0n },
      ]);
      await store.commit([{ key: 'a', window: w, release: 99n, spend: 0n, at: T0 }], T0);
      assert.deepEqual(await store.read([{ key: 'a', window: w }], T0), [
        { spent: 30n, reserved: 0n },
      ]);
    });

    test('a new period starts from zero spend; reservations in flight carry over', async (ctx) => {
      const store = await open(ctx);
      const today = day(T0);
      const tomorrow = day(T0 + 24 * HOUR);
      await store.commit([{ key: 'a', window: today, release: 0n, spend: 70n, at: T0 }], T0);
      await store.reserve([{ key: 'a', window: today, limit: 100n, reserve: 20n, spend: 0n }], T0);
      const next = T0 + 24 * HOUR;
      assert.deepEqual(await store.read([{ key: 'a', window: tomorrow }], next), [
        { spent: 0n, reserved: 20n },
      ]);
      // Spend dated in the past period is dropped, not added to the new one.
      await store.commit([{ key: 'a', window: tomorrow, release: 0n, spend: 5n, at: T0 }], next);
      assert.deepEqual(await store.read([{ key: 'a', window: tomorrow }], next), [
        { spent: 0n, reserved: 20n },
      ]);
      const refused = await store.reserve(
        [{ key: 'a', window: today, limit: 100n, reserve: 90n, spend: 0n }],
        T0 + 1,
      );
      assert.equal(refused.ok, false, 'a clock going back does not reopen the old period');
    });

    test('rolling: spend leaves between 24 and 25 hours later, never earlier', async (ctx) => {
      const store = await open(ctx);
      const t = T0 + 30 * 60_000; // 10:30
      await store.commit([{ key: 'r', window: rolling24h, release: 0n, spend: 7n, at: t }], t);
      const read = async (now: number) =>
        (await store.read([{ key: 'r', window: rolling24h }], now))[0]?.spent;
      assert.equal(await read(t + 24 * HOUR - 1), 7n);
      assert.equal(
        await read(t + 24 * HOUR),
        7n,
        'still counted: the bucket of 10:00 is in the window',
      );
      assert.equal(await read(T0 + 25 * HOUR - 1), 7n);
      assert.equal(await read(T0 + 25 * HOUR), 0n);
    });

    test('rolling: a refusal says when the oldest spend frees', async (ctx) => {
      const store = await open(ctx);
      await store.commit(
        [{ key: 'r', window: rolling24h, release: 0n, spend: 5n, at: T0 + HOUR }],
        T0 + HOUR,
      );
      await store.commit(
        [{ key: 'r', window: rolling24h, release: 0n, spend: 5n, at: T0 + 3 * HOUR }],
        T0 + 3 * HOUR,
      );
      const r = await store.reserve(
        [{ key: 'r', window: rolling24h, limit: 10n, reserve: 1n, spend: 0n }],
        T0 + 5 * HOUR,
      );
      assert.equal(r.ok, false);
      assert.equal(r.ok ? 0 : r.freesAt, T0 + HOUR + 25 * HOUR);
    });

    test('rolling: a long idle gap clears every bucket; spend loaded from outside the window is dropped', async (ctx) => {
      const store = await open(ctx);
      await store.commit([{ key: 'r', window: rolling24h, release: 0n, spend: 9n, at: T0 }], T0);
      const later = T0 + 1000 * HOUR;
      await store.commit(
        [{ key: 'r', window: rolling24h, release: 0n, spend: 4n, at: later - 30 * HOUR }],
        later,
      );
      assert.deepEqual(await store.read([{ key: 'r', window: rolling24h }], later), [
        { spent: 0n, reserved: 0n },
      ]);
      await store.commit(
        [{ key: 'r', window: rolling24h, release: 0n, spend: 4n, at: later - 2 * HOUR }],
        later,
      );
      assert.deepEqual(await store.read([{ key: 'r', window: rolling24h }], later + 20 * HOUR), [
        { spent: 4n, reserved: 0n },
      ]);
    });

    test('keys lists counters by prefix; read never creates one', async (ctx) => {
      const store = await open(ctx);
      const w = day(T0);
      await store.read([{ key: 'b/x|team=a', window: w }], T0);
      assert.deepEqual(await store.keys('b/x|'), []);
      await store.reserve(
        [
          { key: 'b/x|team=a', window: w, limit: null, reserve: 1n, spend: 0n },
          { key: 'b/x|team=b', window: w, limit: null, reserve: 1n, spend: 0n },
          { key: 'b/xy|team=c', window: w, limit: null, reserve: 1n, spend: 0n },
        ],
        T0,
      );
      assert.deepEqual((await store.keys('b/x|')).sort(), ['b/x|team=a', 'b/x|team=b']);
    });

    test('reserve counts spend at once and reports the levels from before the call', async (ctx) => {
      const store = await open(ctx);
      const w = day(T0);
      const rpm: CounterWindow = { kind: 'rolling', bucketMs: 1000, buckets: 60 };
      const ops = [
        { key: 'cost', window: w, limit: 1000n, reserve: 300n, spend: 0n },
        { key: 'rpm', window: rpm, limit: 2n, reserve: 0n, spend: 1n },
      ];
      assert.deepEqual(await store.reserve(ops, T0), {
        ok: true,
        levels: [
          { spent: 0n, reserved: 0n },
          { spent: 0n, reserved: 0n },
        ],
      });
      assert.deepEqual(await store.reserve(ops, T0 + 10), {
        ok: true,
        levels: [
          { spent: 0n, reserved: 300n },
          { spent: 1n, reserved: 0n },
        ],
      });
      const third = await store.reserve(ops, T0 + 20);
      assert.deepEqual(third, {
        ok: false,
        failed: 1,
        levels: [
          { spent: 0n, reserved: 600n },
          { spent: 2n, reserved: 0n },
        ],
        freesAt: T0 + 60_000,
      });
      assert.deepEqual(await store.read([{ key: 'rpm', window: rpm }], T0 + 60_000), [
        { spent: 0n, reserved: 0n },
      ]);
    });

    test('a refusal names the first op over its limit; a period frees at its end', async (ctx) => {
      const store = await open(ctx);
      const w = day(T0);
      await store.commit([{ key: 'b', window: w, release: 0n, spend: 40n, at: T0 }], T0);
      const r = await store.reserve(
        [
          { key: 'a', window: w, limit: null, reserve: 5n, spend: 0n },
          { key: 'b', window: w, limit: 50n, reserve: 11n, spend: 0n },
          { key: 'c', window: w, limit: 0n, reserve: 1n, spend: 0n },
        ],
        T0 + HOUR,
      );
      assert.deepEqual(r, {
        ok: false,
        failed: 1,
        levels: [
          { spent: 0n, reserved: 0n },
          { spent: 40n, reserved: 0n },
          { spent: 0n, reserved: 0n },
        ],
        freesAt: T0 + 24 * HOUR,
      });
      const exact = await store.reserve(
        [{ key: 'b', window: w, limit: 50n, reserve: 10n, spend: 0n }],
        T0 + HOUR,
      );
      assert.equal(exact.ok, true, 'reaching the limit exactly is allowed');
      assert.deepEqual(await store.reserve([], T0), { ok: true, levels: [] });
    });

    test('spend dated in the future counts in the newest bucket', async (ctx) => {
      const store = await open(ctx);
      await store.commit(
        [{ key: 'r', window: rolling24h, release: 0n, spend: 3n, at: T0 + 5 * HOUR }],
        T0,
      );
      const read = async (now: number) =>
        (await store.read([{ key: 'r', window: rolling24h }], now))[0]?.spent;
      assert.equal(await read(T0 + 25 * HOUR - 1), 3n);
      assert.equal(await read(T0 + 25 * HOUR), 0n, 'it left with the bucket of T0');
    });

    test('a counter whose window changes shape starts again; reservations stay', async (ctx) => {
      const store = await open(ctx);
      const w = day(T0);
      await store.reserve([{ key: 'k', window: w, limit: null, reserve: 8n, spend: 2n }], T0);
      assert.deepEqual(await store.read([{ key: 'k', window: rolling24h }], T0), [
        { spent: 0n, reserved: 8n },
      ]);
      await store.commit([{ key: 'k', window: rolling24h, release: 0n, spend: 6n, at: T0 }], T0);
      const rolling12h: CounterWindow = { kind: 'rolling', bucketMs: HOUR, buckets: 13 };
      assert.deepEqual(await store.read([{ key: 'k', window: rolling12h }], T0 + HOUR), [
        { spent: 0n, reserved: 8n },
      ]);
      await store.commit([{ key: 'k', window: rolling12h, release: 0n, spend: 1n, at: T0 }], T0);
      assert.deepEqual(await store.read([{ key: 'k', window: w }], T0 + 2 * HOUR), [
        { spent: 0n, reserved: 8n },
      ]);
    });

    test('holds: an expired hold is released by the next reserve or read at or past its expiry', async (ctx) => {
      const store = await open(ctx);
      const w = day(T0);
      const minute: CounterWindow = { kind: 'rolling', bucketMs: 1000, buckets: 60 };
      const hold = { id: 'call-1', expiresAt: T0 + 1000 };
      const admitted = await store.reserve(
        [
          { key: 'a', window: w, limit: 100n, reserve: 60n, spend: 0n },
          { key: 'tpm', window: minute, limit: null, reserve: 500n, spend: 0n },
          { key: 'rpm', window: minute, limit: null, reserve: 0n, spend: 1n },
        ],
        T0,
        hold,
      );
      assert.equal(admitted.ok, true);
      const op = { key: 'a', window: w, limit: 100n, reserve: 60n, spend: 0n };
      const early = await store.reserve([op], T0 + 999);
      assert.equal(early.ok, false, 'held until expiresAt');
      assert.deepEqual(early.levels, [{ spent: 0n, reserved: 60n }]);
      const late = await store.reserve([op], T0 + 1000);
      assert.deepEqual(late, { ok: true, levels: [{ spent: 0n, reserved: 0n }] });
      assert.deepEqual(
        await store.read(
          [
            { key: 'tpm', window: minute },
            { key: 'rpm', window: minute },
          ],
          T0 + 1000,
        ),
        [
          { spent: 0n, reserved: 0n },
          { spent: 1n, reserved: 0n },
        ],
        'every counter of the hold is released; spend stays',
      );
      await store.reserve([{ key: 'b', window: w, limit: null, reserve: 7n, spend: 0n }], T0, {
        id: 'call-2',
        expiresAt: T0 + 2000,
      });
      assert.deepEqual(
        await store.read([{ key: 'b', window: w }], T0 + 2000),
        [{ spent: 0n, reserved: 0n }],
        'a read releases expired holds too',
      );
    });

    test('holds: a commit with an expired hold id adds the spend and releases nothing more', async (ctx) => {
      const store = await open(ctx);
      const w = day(T0);
      await store.reserve([{ key: 'a', window: w, limit: null, reserve: 60n, spend: 0n }], T0, {
        id: 'h1',
        expiresAt: T0 + 1000,
      });
      await store.reserve([{ key: 'a', window: w, limit: null, reserve: 30n, spend: 0n }], T0);
      assert.deepEqual(await store.read([{ key: 'a', window: w }], T0 + 1000), [
        { spent: 0n, reserved: 30n },
      ]);
      await store.commit(
        [{ key: 'a', window: w, release: 60n, spend: 25n, at: T0 }],
        T0 + 2000,
        'h1',
      );
      assert.deepEqual(
        await store.read([{ key: 'a', window: w }], T0 + 2000),
        [{ spent: 25n, reserved: 30n }],
        'the other call keeps its reservation',
      );
    });

    test('holds: a commit with a live hold id releases once; the store never releases it again', async (ctx) => {
      const store = await open(ctx);
      const w = day(T0);
      const hold = { id: 'h1', expiresAt: T0 + HOUR };
      await store.reserve(
        [{ key: 'a', window: w, limit: null, reserve: 60n, spend: 0n }],
        T0,
        hold,
      );
      await store.reserve([{ key: 'a', window: w, limit: null, reserve: 30n, spend: 0n }], T0);
      const settle = [{ key: 'a', window: w, release: 60n, spend: 10n, at: T0 }];
      await store.commit(settle, T0, 'h1');
      assert.deepEqual(await store.read([{ key: 'a', window: w }], T0), [
        { spent: 10n, reserved: 30n },
      ]);
      await store.commit(settle, T0, 'h1');
      assert.deepEqual(
        await store.read([{ key: 'a', window: w }], T0 + HOUR),
        [{ spent: 20n, reserved: 30n }],
        'neither the second commit nor the expiry released it again',
      );
      const refused = await store.reserve(
        [{ key: 'a', window: w, limit: 50n, reserve: 40n, spend: 0n }],
        T0 + HOUR,
        { id: 'h2', expiresAt: T0 + 2 * HOUR },
      );
      assert.equal(refused.ok, false);
      await store.commit(
        [{ key: 'a', window: w, release: 30n, spend: 0n, at: T0 }],
        T0 + HOUR,
        'h2',
      );
      assert.deepEqual(
        await store.read([{ key: 'a', window: w }], T0 + HOUR),
        [{ spent: 20n, reserved: 30n }],
        'a refused reserve makes no hold',
      );
    });

    test('holds: a partial release keeps the rest held until the hold expires', async (ctx) => {
      const store = await open(ctx);
      const w = day(T0);
      await store.reserve(
        [
          { key: 'a', window: w, limit: null, reserve: 50n, spend: 0n },
          { key: 'b', window: w, limit: null, reserve: 8n, spend: 0n },
        ],
        T0,
        { id: 'h1', expiresAt: T0 + 1000 },
      );
      await store.reserve([{ key: 'a', window: w, limit: null, reserve: 5n, spend: 0n }], T0);
      await store.commit([{ key: 'a', window: w, release: 20n, spend: 0n, at: T0 }], T0, 'h1');
      assert.deepEqual(await store.read([{ key: 'a', window: w }], T0), [
        { spent: 0n, reserved: 35n },
      ]);
      await store.commit([{ key: 'a', window: w, release: 99n, spend: 0n, at: T0 }], T0, 'h1');
      assert.deepEqual(
        await store.read([{ key: 'a', window: w }], T0),
        [{ spent: 0n, reserved: 5n }],
        'a release is capped at what the hold still holds on the counter',
      );
      assert.deepEqual(
        await store.read(
          ['a', 'b'].map((key) => ({ key, window: w })),
          T0 + 1000,
        ),
        [
          { spent: 0n, reserved: 5n },
          { spent: 0n, reserved: 0n },
        ],
        'what was still held on b expired',
      );
    });

    test('holds: touch moves a live hold’s expiry later, never earlier; a gone hold stays gone', async (ctx) => {
      const store = await open(ctx);
      const w = day(T0);
      const a = [{ key: 'a', window: w }];
      await store.reserve([{ key: 'a', window: w, limit: null, reserve: 60n, spend: 0n }], T0, {
        id: 'h1',
        expiresAt: T0 + 1000,
      });
      await store.touch('h1', T0 + 5000);
      await store.touch('h1', T0 + 2000);
      assert.deepEqual(await store.read(a, T0 + 1000), [{ spent: 0n, reserved: 60n }]);
      assert.deepEqual(await store.read(a, T0 + 4999), [{ spent: 0n, reserved: 60n }]);
      assert.deepEqual(await store.read(a, T0 + 5000), [{ spent: 0n, reserved: 0n }]);
      await store.touch('h1', T0 + 10_000);
      await store.touch('never-made', T0 + 10_000);
      await store.reserve(
        [{ key: 'a', window: w, limit: null, reserve: 9n, spend: 0n }],
        T0 + 5000,
      );
      await store.commit(
        [{ key: 'a', window: w, release: 60n, spend: 0n, at: T0 }],
        T0 + 6000,
        'h1',
      );
      assert.deepEqual(await store.read(a, T0 + 6000), [{ spent: 0n, reserved: 9n }]);
    });

    test('holds: one call releases at most HOLD_SWEEP_MAX expired holds, oldest first', async (ctx) => {
      const store = await open(ctx);
      const w = day(T0);
      const count = HOLD_SWEEP_MAX + 50;
      for (let i = count - 1; i >= 0; i--) {
        const key = i < HOLD_SWEEP_MAX ? 'old' : 'new';
        await store.reserve([{ key, window: w, limit: null, reserve: 1n, spend: 0n }], T0, {
          id: `h${i}`,
          expiresAt: T0 + 1 + i,
        });
      }
      const refs = ['old', 'new'].map((key) => ({ key, window: w }));
      assert.deepEqual(await store.read(refs, T0 + HOUR), [
        { spent: 0n, reserved: 0n },
        { spent: 0n, reserved: 50n },
      ]);
      assert.deepEqual(await store.read(refs, T0 + HOUR), [
        { spent: 0n, reserved: 0n },
        { spent: 0n, reserved: 0n },
      ]);
    });

    test('keys matches its prefix literally', async (ctx) => {
      const store = await open(ctx);
      const w = day(T0);
      const names = ['l/*|v=1', 'l/*|v=[2]', 'l/a|v=3', 'l/?|v=4', 'l/\\|v=5'];
      await store.commit(
        names.map((key) => ({ key, window: w, release: 0n, spend: 1n, at: T0 })),
        T0,
      );
      assert.deepEqual((await store.keys('l/*|')).sort(), ['l/*|v=1', 'l/*|v=[2]']);
      assert.deepEqual(await store.keys('l/?'), ['l/?|v=4']);
      assert.deepEqual(await store.keys('l/\\'), ['l/\\|v=5']);
      assert.deepEqual(await store.keys('l/[2]'), []);
      assert.equal((await store.keys('')).length, names.length);
    });
  });
}
