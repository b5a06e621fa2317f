/**
 * Acceptance: 200 parallel calls against a nearly spent hard budget, with random interleaving between admission
 * and settlement. Spend never passes the limit by more than the stated bound, no call is charged twice or lost,
 * and every reservation returns.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseUsd } from '../../core/index.ts';
import { gatewayConfigSchema } from '../config.ts';
import { createGovernor } from './governor.ts';

const LIMIT = parseUsd('10');
const SEED_SPEND = parseUsd('9.50');
const NOW = Date.UTC(2026, 10, 23, 12);

/** Deterministic PRNG (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Yields to the event loop a few times: other calls' admissions and settlements interleave here. */
async function hops(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

interface Outcome {
  admitted: boolean;
  /** Logical times: reservations happen synchronously inside `admit`, settlement inside `settle`. */
  reservedAt: number;
  settledAt: number;
  charged: bigint;
  underestimate: bigint;
}

async function run(seed: number, underestimateMax: bigint) {
  const config = gatewayConfigSchema.parse({
    budgets: [
      { name: 'search-daily', scope: { team: 'search' }, amountUsd: '10', period: 'daily' },
    ],
  });
  const governor = createGovernor(config, { clock: () => NOW });
  await governor.load([{ at: NOW - 1000, costPicos: SEED_SPEND, team: 'search' }]);
  const random = rng(seed);
  let tick = 0;
  let settledTwice = 0;
  const one = async (): Promise<Outcome> => {
    const worst = parseUsd('0.01') + BigInt(Math.floor(random() * 90_000_000_000)); // $0.01–$0.10
    const under =
      underestimateMax === 0n ? 0n : BigInt(Math.floor(random() * Number(underestimateMax)));
    const sound = (worst * BigInt(Math.floor(random() * 1001))) / 1000n; // 0–100 % of the worst case
    const actual = sound + under;
    const failBeforeTokens = random() < 0.1;
    const delay = Math.floor(random() * 20);
    await hops(Math.floor(random() * 3));
    const reservedAt = ++tick;
    const a = await governor.admit({
      key: 'k1',
      team: 'search',
      user: 'u',
      feature: 'f',
      model: 'anthropic.claude-sonnet-4-5-20250929-v1:0',
      worstCase: () => worst,
      tokensEstimate: 1000,
    });
    if (!a.ok) return { admitted: false, reservedAt, settledAt: 0, charged: 0n, underestimate: 0n };
    await hops(delay);
    const settledAt = ++tick;
    const charged = failBeforeTokens ? 0n : actual;
    const first = failBeforeTokens
      ? await governor.release(a.ticket)
      : await governor.settle(a.ticket, actual, 500);
    assert.equal(first, true, 'the first settlement of a ticket takes effect');
    // A retried settlement (or a release after it) must change nothing.
    if (await governor.settle(a.ticket, actual, 500)) settledTwice++;
    if (await governor.release(a.ticket)) settledTwice++;
    const underestimate = charged > worst ? charged - worst : 0n;
    return { admitted: true, reservedAt, settledAt, charged, underestimate };
  };
  const outcomes = await Promise.all(Array.from({ length: 200 }, one));
  const status = await governor.status();
  const row = status.budgets[0];
  assert.ok(row !== undefined);
  return { outcomes, row, settledTwice, openTickets: status.openTickets };
}

describe('200 parallel calls against a nearly spent hard budget', () => {
  for (const seed of [1, 2, 3, 42, 2026]) {
    test(`sound reservations: never over the limit (seed ${seed})`, async () => {
      const { outcomes, row, settledTwice, openTickets } = await run(seed, 0n);
      const admitted = outcomes.filter((o) => o.admitted);
      assert.ok(admitted.length > 5, `some calls fit (${admitted.length})`);
      assert.ok(admitted.length < 200, 'the budget ran out: the test exercised refusals');
      const spent = parseUsd(row.spentUsd);
      const charged = admitted.reduce((s, o) => s + o.charged, 0n);
      assert.equal(spent, SEED_SPEND + charged, 'every admitted call charged exactly once');
      assert.ok(spent <= LIMIT, `spent ${row.spentUsd} ≤ limit 10`);
      assert.equal(row.reservedUsd, '0.00', 'every reservation returned');
      assert.equal(settledTwice, 0);
      assert.equal(openTickets, 0);
    });
  }

  test('underestimated calls: overshoot ≤ the underestimates of calls in flight at the last admission', async () => {
    const U = parseUsd('0.05');
    for (const seed of [7, 8, 9]) {
      const { outcomes, row } = await run(seed, U);
      const admitted = outcomes.filter((o) => o.admitted);
      const spent = parseUsd(row.spentUsd);
      assert.equal(spent, SEED_SPEND + admitted.reduce((s, o) => s + o.charged, 0n));
      const last = Math.max(...admitted.map((o) => o.reservedAt));
      const inFlight = admitted.filter((o) => o.reservedAt <= last && o.settledAt > last);
      const bound = inFlight.reduce((s, o) => s + o.underestimate, 0n);
      const over = spent > LIMIT ? spent - LIMIT : 0n;
      assert.ok(over <= bound, `seed ${seed}: overshoot ${over} ≤ bound ${bound}`);
      assert.ok(
        bound <= BigInt(inFlight.length) * U,
        'and so ≤ one underestimate per call in flight',
      );
      assert.equal(row.reservedUsd, '0.00');
    }
  });
});
