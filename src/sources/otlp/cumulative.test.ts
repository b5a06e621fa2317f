/**
 * CumulativeTracker (running totals → increases, telemetry.md §8.1) and the exact decimals it works on.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CumulativeTracker, canonicalAttributes, seriesIdentity } from './cumulative.ts';
import {
  addDecimal,
  canonicalDecimal,
  compareDecimal,
  decimalToBigInt,
  doubleToDecimal,
  subtractDecimal,
} from './decimal.ts';

const point = (start: number, time: number, ...values: string[]) => ({
  startTimeUnixNano: BigInt(start),
  timeUnixNano: BigInt(time),
  values,
});

describe('CumulativeTracker', () => {
  test('first, increase, duplicate, stale, unchanged', () => {
    const t = new CumulativeTracker();
    const seen = [
      t.delta('s', point(100, 160, '10', '1.5')),
      t.delta('s', point(100, 220, '25', '2.25')),
      t.delta('s', point(100, 220, '25', '2.25')), // the same export again
      t.delta('s', point(100, 200, '24', '2')), // older than what we have
      t.delta('s', point(100, 280, '25', '2.25')), // nothing happened
    ];
    assert.deepEqual(seen, [
      { outcome: 'first', values: ['10', '1.5'] },
      { outcome: 'increase', values: ['15', '0.75'] },
      { outcome: 'duplicate', values: ['0', '0'] },
      { outcome: 'stale', values: ['0', '0'] },
      { outcome: 'increase', values: ['0', '0'] },
    ]);
  });

  test('a larger monotonic total at the same time is a later export in the same clock tick', () => {
    const t = new CumulativeTracker();
    t.delta('s', point(100, 160, '350', '3'));
    assert.deepEqual(t.delta('s', point(100, 160, '357', '4')), {
      outcome: 'increase',
      values: ['7', '1'],
    });
    // Then a retry of either export adds nothing.
    assert.equal(t.delta('s', point(100, 160, '357', '4')).outcome, 'duplicate');
    assert.equal(t.delta('s', point(100, 160, '350', '3')).outcome, 'stale');
    // Not for a non-monotonic total: which of two values of one instant is the later is unknowable.
    const g = new CumulativeTracker();
    g.delta('g', point(1, 2, '5'), false);
    assert.equal(g.delta('g', point(1, 2, '6'), false).outcome, 'stale');
  });

  test('a new start time is a restart from zero; the old stream still subtracts its late points', () => {
    const t = new CumulativeTracker();
    t.delta('s', point(100, 160, '10'));
    assert.deepEqual(t.delta('s', point(500, 560, '3')), { outcome: 'restart', values: ['3'] });
    assert.deepEqual(t.delta('s', point(100, 170, '12')), { outcome: 'increase', values: ['2'] });
    assert.deepEqual(t.delta('s', point(500, 620, '4')), { outcome: 'increase', values: ['1'] });
    // a start time between the two known ones, never seen: counted in full, not as a restart
    assert.deepEqual(t.delta('s', point(300, 320, '6')), { outcome: 'first', values: ['6'] });
    assert.equal(t.size, 3);
  });

  test('a monotonic total that goes down under the same start time is a reset; non-monotonic is not', () => {
    const t = new CumulativeTracker();
    t.delta('m', point(1, 2, '50'));
    assert.deepEqual(t.delta('m', point(1, 3, '20')), { outcome: 'reset', values: ['20'] });
    const n = new CumulativeTracker();
    n.delta('g', point(1, 2, '50'), false);
    assert.deepEqual(n.delta('g', point(1, 3, '20'), false), {
      outcome: 'increase',
      values: ['-30'],
    });
  });

  test('series are independent; old start times are evicted beyond the limit', () => {
    const t = new CumulativeTracker({ maxStartsPerSeries: 2 });
    t.delta('a', point(1, 2, '5'));
    assert.equal(t.delta('b', point(1, 2, '7')).outcome, 'first');
    t.delta('a', point(10, 11, '1'));
    t.delta('a', point(20, 21, '1'));
    assert.equal(t.size, 3); // a@10, a@20, b@1
    assert.equal(t.delta('a', point(1, 3, '6')).outcome, 'first'); // forgotten: counted again
  });

  test('prune forgets streams idle since before a time', () => {
    const t = new CumulativeTracker();
    t.delta('a', point(1, 100, '5'));
    t.delta('b', point(1, 300, '5'));
    assert.equal(t.prune(200n), 1);
    assert.equal(t.size, 1);
    assert.equal(t.delta('a', point(1, 400, '6')).outcome, 'first');
    assert.equal(t.delta('b', point(1, 400, '6')).outcome, 'increase');
  });

  test('snapshot and restore carry the state across a receiver restart', () => {
    const t = new CumulativeTracker();
    t.delta('a', point(1, 100, '5'));
    t.delta('a', point(7, 100, '1'));
    const state = JSON.parse(JSON.stringify(t.snapshot()));
    const r = CumulativeTracker.restore(state);
    assert.deepEqual(r.snapshot(), t.snapshot());
    assert.deepEqual(r.delta('a', point(1, 160, '8')), { outcome: 'increase', values: ['3'] });
  });

  test('a stage moves nothing until committed; dropped, the same points count again', () => {
    const t = new CumulativeTracker();
    t.delta('a', point(1, 100, '5'));
    const before = t.snapshot();
    const dropped = t.stage();
    assert.deepEqual(dropped.delta('a', point(1, 160, '8')), {
      outcome: 'increase',
      values: ['3'],
    });
    assert.deepEqual(dropped.delta('a', point(1, 160, '8')).outcome, 'duplicate');
    assert.deepEqual(t.snapshot(), before);

    const stage = t.stage();
    assert.deepEqual(stage.delta('a', point(1, 160, '8')), { outcome: 'increase', values: ['3'] });
    assert.deepEqual(stage.delta('b', point(4, 50, '2')), { outcome: 'first', values: ['2'] });
    assert.equal(stage.delta('a', point(1, 100, '5')).outcome, 'stale');
    assert.equal(stage.lastTime('a', 1n), 160n);
    assert.equal(t.lastTime('a', 1n), 100n);
    assert.deepEqual(stage.changes(), [
      { series: 'a', startTimeUnixNano: 1n, timeUnixNano: 160n, values: ['8'] },
      { series: 'b', startTimeUnixNano: 4n, timeUnixNano: 50n, values: ['2'] },
    ]);
    stage.commit();
    assert.equal(t.lastTime('a', 1n), 160n);
    assert.equal(t.delta('b', point(4, 50, '2')).outcome, 'duplicate');
  });

  test('seed loads persisted streams: the next point is an increase, not a first', () => {
    const t = new CumulativeTracker();
    t.seed([{ series: 'a', startTimeUnixNano: 1n, timeUnixNano: 100n, values: ['5'] }]);
    assert.deepEqual(t.delta('a', point(1, 160, '8')), { outcome: 'increase', values: ['3'] });
    assert.deepEqual(t.delta('a', point(9, 170, '1')), { outcome: 'restart', values: ['1'] });
  });
});

describe('series identity', () => {
  test('attribute order does not matter; types and values do', () => {
    const a = [
      { key: 'x', value: { type: 'string', value: '1' } },
      { key: 'y', value: { type: 'int', value: 2n } },
    ] as const;
    assert.equal(canonicalAttributes([...a].reverse()), canonicalAttributes(a));
    assert.notEqual(
      canonicalAttributes([{ key: 'x', value: { type: 'int', value: 1n } }]),
      canonicalAttributes([{ key: 'x', value: { type: 'string', value: '1' } }]),
    );
    const base = { resource: [], scope: 's', metric: 'm', attributes: a };
    assert.notEqual(seriesIdentity(base), seriesIdentity({ ...base, metric: 'n' }));
    assert.notEqual(seriesIdentity(base), seriesIdentity({ ...base, resource: a }));
  });
});

describe('decimals', () => {
  test('doubles as their shortest decimal, never exponent form', () => {
    assert.deepEqual(
      [0.1, 0.0027651900000000003, 5e-7, 1.5e21, -0, 12, -2.5e-8, 123456789.125].map(
        doubleToDecimal,
      ),
      [
        '0.1',
        '0.0027651900000000003',
        '0.0000005',
        '1500000000000000000000',
        '0',
        '12',
        '-0.000000025',
        '123456789.125',
      ],
    );
    assert.equal(doubleToDecimal(Number.NaN), null);
    assert.equal(doubleToDecimal(Number.POSITIVE_INFINITY), null);
  });

  test('canonical forms of decimal text', () => {
    assert.deepEqual(
      ['0.0185', '+1.50', '007', '.5', '5.', '-0.0', '5e-7', '1E3'].map(canonicalDecimal),
      ['0.0185', '1.5', '7', '0.5', '5', '0', '0.0000005', '1000'],
    );
    assert.deepEqual(['', '.', 'abc', '1.2.3', 'NaN'].map(canonicalDecimal), [
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  test('exact arithmetic', () => {
    assert.equal(0.3 - 0.1, 0.19999999999999998);
    assert.equal(subtractDecimal('0.3', '0.1'), '0.2');
    assert.equal(subtractDecimal('1', '1.25'), '-0.25');
    assert.equal(addDecimal('0.1', '0.2'), '0.3');
    assert.equal(compareDecimal('0.10', '0.1'), 0);
    assert.equal(compareDecimal('-1', '0'), -1);
    assert.equal(decimalToBigInt('2067'), 2067n);
    assert.equal(decimalToBigInt('2.50'), null);
    assert.equal(decimalToBigInt('9007199254740993'), 9007199254740993n);
  });
});
