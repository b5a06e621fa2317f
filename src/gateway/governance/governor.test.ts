import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseUsd } from '../../core/index.ts';
import { gatewayConfigSchema } from '../config.ts';
import { type CounterStore, createMemoryCounterStore } from './counter-store.ts';
import {
  type Admission,
  type AdmitRequest,
  createGovernor,
  EXPIRY_MARGIN_MS,
  type Governor,
  type GovernorDeps,
} from './governor.ts';
import type { Refusal } from './report.ts';

const OPUS = 'us.anthropic.claude-opus-4-5-20251101-v1:0';
const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const NOVA = 'us.amazon.nova-pro-v1:0';
const usd = parseUsd;

/** A governor with a clock the test moves. */
function setup(
  gateway: unknown,
  start = Date.parse('2026-11-23T12:00:00Z'),
  deps: Partial<GovernorDeps> = {},
) {
  const clock = { now: start };
  const governor = createGovernor(gatewayConfigSchema.parse(gateway), {
    clock: () => clock.now,
    ...deps,
  });
  return { governor, clock };
}

function call(over: Partial<AdmitRequest> & { cost?: string } = {}): AdmitRequest {
  const cost = usd(over.cost ?? '0.10');
  return {
    key: 'k1',
    team: 'search',
    user: 'ana',
    feature: 'chat',
    model: SONNET,
    worstCase: () => cost,
    tokensEstimate: 100,
    ...over,
  };
}

function admitted(r: Admission | Refusal): Admission {
  assert.ok(r.ok, `expected admission, got ${r.ok ? '' : `${r.code}: ${r.message}`}`);
  return r;
}

function refused(r: Admission | Refusal): Refusal {
  assert.ok(!r.ok, 'expected a refusal');
  return r;
}

async function budget(governor: Governor, label: string) {
  const row = (await governor.status()).budgets.find((b) => b.label === label);
  assert.ok(row, `no budget ${label}`);
  return row;
}

describe('model policy', () => {
  const { governor } = setup({
    models: {
      '*': { deny: ['*opus*'] },
      search: { allow: ['us.anthropic.*'] },
    },
  });
  test('an organisation-wide deny applies to every team', async () => {
    const r = refused(await governor.admit(call({ model: OPUS })));
    assert.equal(r.status, 403);
    assert.equal(r.code, 'gateway.model_denied');
    assert.match(r.message, /denied for every team/);
  });
  test("a team's allow list narrows what it may call", async () => {
    const r = refused(await governor.admit(call({ model: NOVA })));
    assert.equal(r.code, 'gateway.model_not_allowed');
    assert.match(r.message, /team search/);
    admitted(await governor.admit(call({ model: SONNET })));
  });
  test('teams without an entry only get the organisation rules', async () => {
    admitted(await governor.admit(call({ team: 'ads', model: NOVA })));
    refused(await governor.admit(call({ team: 'ads', model: OPUS })));
  });
});

describe('hard budgets', () => {
  test('refuses with 429 naming the budget, limit, spend and reset; settling frees room', async () => {
    const { governor } = setup({
      budgets: [
        {
          name: 'search-daily',
          scope: { team: 'search' },
          amountUsd: '1',
          period: 'daily',
          timezone: 'Europe/Berlin',
        },
      ],
    });
    const a = admitted(await governor.admit(call({ cost: '0.40' })));
    admitted(await governor.admit(call({ cost: '0.40' })));
    const r = refused(await governor.admit(call({ cost: '0.40' })));
    assert.equal(r.status, 429);
    assert.equal(r.code, 'gateway.budget_exceeded');
    assert.equal(r.retryAfterSec, 1, 'the room is held by calls in flight, which may settle lower');
    assert.deepEqual(r.details, {
      budget: 'search-daily',
      scope: 'search-daily',
      limitUsd: '1.00',
      spentUsd: '0.00',
      reservedUsd: '0.80',
      requestMaxUsd: '0.40',
      period: 'daily',
      window: 'calendar',
      timezone: 'Europe/Berlin',
      resetsAt: '2026-11-23T23:00:00.000Z',
    });
    assert.match(r.message, /Budget "search-daily" would be exceeded: 1\.00 USD per calendar day/);
    assert.equal(await governor.settle(a.ticket, usd('0.05'), 80), true);
    admitted(await governor.admit(call({ cost: '0.40' })));
    const row = await budget(governor, 'search-daily');
    assert.equal(row.spentUsd, '0.05');
    assert.equal(row.reservedUsd, '0.80');
  });

  test('Retry-After runs to the reset when spend, not reservations, fills the budget', async () => {
    const { governor } = setup({
      budgets: [{ name: 'd', amountUsd: '1', period: 'daily' }],
    });
    await governor.load([{ at: Date.parse('2026-11-23T01:00:00Z'), costPicos: usd('0.95') }]);
    const r = refused(await governor.admit(call({ cost: '0.10' })));
    assert.equal(r.retryAfterSec, 12 * 3600);
    assert.match(r.message, /It resets at 2026-11-24T00:00:00\.000Z/);
  });

  test('a call whose worst case alone passes the limit is refused without Retry-After', async () => {
    const { governor } = setup({ budgets: [{ name: 'd', amountUsd: '1', period: 'daily' }] });
    const r = refused(await governor.admit(call({ cost: '1.01' })));
    assert.equal(r.retryAfterSec, undefined);
    assert.match(r.message, /on its own/);
    // It can never fit: a 400, which SDKs do not retry, rather than a 429 they retry.
    assert.equal(r.status, 400);
  });

  test('warn-only budgets admit past the limit and say so in a header', async () => {
    const { governor } = setup({
      budgets: [{ name: 'shadow', amountUsd: '0.10', period: 'daily', onHard: 'warn' }],
    });
    const a = admitted(await governor.admit(call({ cost: '0.50' })));
    assert.match(a.headers['x-tokenledger-budget-warning'] ?? '', /shadow over its limit/);
    assert.equal(a.headers['x-tokenledger-budget-remaining'], undefined);
  });

  test('an unpriced model is refused where a hard budget applies, admitted elsewhere', async () => {
    const { governor } = setup({
      budgets: [{ name: 'search', scope: { team: 'search' }, amountUsd: '5', period: 'monthly' }],
    });
    const r = refused(await governor.admit(call({ worstCase: () => null })));
    assert.equal(r.code, 'gateway.unpriced_model');
    assert.equal(r.status, 403);
    admitted(await governor.admit(call({ team: 'ads', worstCase: () => null })));
  });

  test('a refused call consumes nothing, not even its RPM', async () => {
    const { governor } = setup({
      budgets: [{ name: 'd', amountUsd: '1', period: 'daily' }],
      limits: [{ name: 'r', rpm: 1 }],
    });
    refused(await governor.admit(call({ cost: '2' })));
    admitted(await governor.admit(call({ cost: '0.5' })));
  });
});

describe('settle and release', () => {
  test('keep: a call whose bill was not read in full is charged its reservation, or more if more was read', async () => {
    const { governor } = setup({
      budgets: [{ name: 'd', amountUsd: '10', period: 'daily' }],
      limits: [{ name: 't', tpm: 100_000 }],
    });
    const a = admitted(await governor.admit(call({ cost: '1' })));
    assert.equal(await governor.keep(a.ticket, usd('0.20'), 3), true);
    assert.equal(await governor.keep(a.ticket, usd('0.20'), 3), false, 'once per ticket');
    assert.equal(
      (await budget(governor, 'd')).spentUsd,
      '1.00',
      'the reservation, not the 0.20 read',
    );
    const b = admitted(await governor.admit(call({ cost: '1' })));
    assert.equal(await governor.keep(b.ticket, usd('1.50'), 3), true);
    const row = await budget(governor, 'd');
    assert.equal(row.spentUsd, '2.50', 'what was read, when it is more than the reservation');
    assert.equal(row.reservedUsd, '0.00');
    assert.equal((await governor.status()).openTickets, 0);
  });

  test('act once per ticket; later calls return false and change nothing', async () => {
    const { governor } = setup({ budgets: [{ name: 'd', amountUsd: '10', period: 'daily' }] });
    const a = admitted(await governor.admit(call({ cost: '1' })));
    assert.equal(await governor.settle(a.ticket, usd('0.30'), 10), true);
    assert.equal(await governor.settle(a.ticket, usd('0.30'), 10), false);
    assert.equal(await governor.release(a.ticket), false);
    const b = admitted(await governor.admit(call({ cost: '1' })));
    assert.equal(await governor.release(b.ticket), true);
    assert.equal(await governor.settle(b.ticket, usd('5'), 10), false);
    const row = await budget(governor, 'd');
    assert.equal(row.spentUsd, '0.30');
    assert.equal(row.reservedUsd, '0.00');
    assert.equal((await governor.status()).openTickets, 0);
  });

  test('a negative cost is rejected and leaves the reservation for a correct settlement', async () => {
    const { governor } = setup({ budgets: [{ name: 'd', amountUsd: '10', period: 'daily' }] });
    const a = admitted(await governor.admit(call({ cost: '1' })));
    await assert.rejects(governor.settle(a.ticket, -1n, 0), RangeError);
    assert.equal(await governor.settle(a.ticket, usd('0.25'), 1), true);
    assert.equal((await budget(governor, 'd')).spentUsd, '0.25');
  });
});

describe('periods', () => {
  test('a call straddling midnight holds its reservation in both days and is charged to the new one', async () => {
    // 23:59:30 in New York (EST, UTC−5).
    const { governor, clock } = setup(
      {
        budgets: [{ name: 'ny', amountUsd: '1', period: 'daily', timezone: 'America/New_York' }],
      },
      Date.parse('2026-11-24T04:59:30Z'),
    );
    await governor.load([{ at: clock.now - 3600_000, costPicos: usd('0.50') }]);
    const a = admitted(await governor.admit(call({ cost: '0.40' })));
    clock.now = Date.parse('2026-11-24T05:00:10Z');
    let row = await budget(governor, 'ny');
    assert.equal(row.spentUsd, '0.00', 'yesterday’s spend is gone at local midnight');
    assert.equal(row.reservedUsd, '0.40', 'the call in flight still holds its worst case');
    assert.equal(row.periodStart, '2026-11-24T05:00:00.000Z');
    assert.equal(row.resetsAt, '2026-11-25T05:00:00.000Z');
    await governor.settle(a.ticket, usd('0.30'), 10);
    row = await budget(governor, 'ny');
    assert.equal(row.spentUsd, '0.30');
    assert.equal(row.reservedUsd, '0.00');
  });

  test('monthly calendar budgets reset on the 1st in their time zone, not every 30 days', async () => {
    const { governor, clock } = setup(
      {
        budgets: [{ name: 'm', amountUsd: '10', period: 'monthly', timezone: 'Asia/Tokyo' }],
      },
      Date.parse('2026-11-30T14:59:59Z'), // 23:59:59 JST on 30 November
    );
    const a = admitted(await governor.admit(call({ cost: '1' })));
    await governor.settle(a.ticket, usd('9.99'), 1);
    refused(await governor.admit(call({ cost: '1' })));
    clock.now = Date.parse('2026-11-30T15:00:00Z'); // 1 December JST
    admitted(await governor.admit(call({ cost: '1' })));
    assert.equal((await budget(governor, 'm')).resetsAt, '2026-12-31T15:00:00.000Z');
  });

  test('weekly budgets follow ISO weeks in their zone', async () => {
    const { governor } = setup(
      { budgets: [{ name: 'w', amountUsd: '10', period: 'weekly', timezone: 'Europe/Berlin' }] },
      Date.parse('2026-11-29T22:59:59Z'), // Sunday 23:59:59 CET
    );
    const row = await governor.admit(call()).then(() => budget(governor, 'w'));
    assert.equal(row.periodStart, '2026-11-22T23:00:00.000Z');
    assert.equal(row.resetsAt, '2026-11-29T23:00:00.000Z');
  });

  test('rolling budgets forget spend 24–25 hours later', async () => {
    const { governor, clock } = setup({
      budgets: [{ name: 'r', amountUsd: '1', period: 'daily', window: 'rolling' }],
    });
    const a = admitted(await governor.admit(call({ cost: '1' })));
    await governor.settle(a.ticket, usd('0.90'), 1);
    clock.now += 23 * 3600_000;
    const r = refused(await governor.admit(call({ cost: '0.20' })));
    assert.equal(r.details.resetsAt, null);
    assert.match(r.message, /Spend starts leaving the window at 2026-11-24T13:00:00\.000Z/);
    assert.equal(r.retryAfterSec, 2 * 3600);
    clock.now = Date.parse('2026-11-24T13:00:00Z');
    admitted(await governor.admit(call({ cost: '0.20' })));
  });
});

describe('rate limits', () => {
  test('RPM per key: the fourth call in a minute gets 429 with Retry-After; other keys are separate', async () => {
    const { governor, clock } = setup({
      limits: [{ name: 'per-key', scope: { key: '*' }, rpm: 3 }],
    });
    for (let i = 0; i < 3; i++) {
      const a = admitted(await governor.admit(call()));
      assert.equal(a.headers['x-ratelimit-remaining-requests'], String(2 - i));
    }
    const r = refused(await governor.admit(call()));
    assert.equal(r.code, 'gateway.rate_limited');
    assert.equal(r.details.scope, 'per-key{key=k1}');
    assert.equal(r.retryAfterSec, 61);
    admitted(await governor.admit(call({ key: 'k2' })));
    clock.now += 60_999;
    refused(await governor.admit(call()));
    clock.now += 1;
    admitted(await governor.admit(call()));
  });

  test('TPM reserves the estimate and settles the billed tokens', async () => {
    const { governor } = setup({ limits: [{ name: 't', tpm: 1000 }] });
    const a = admitted(await governor.admit(call({ tokensEstimate: 600 })));
    const r = refused(await governor.admit(call({ tokensEstimate: 600 })));
    assert.equal(r.details.reserved, 600);
    assert.equal(r.status, 429);
    const alone = refused(await governor.admit(call({ tokensEstimate: 1001 })));
    assert.equal(alone.status, 400, 'more tokens than a minute allows: it never fits');
    assert.equal(alone.retryAfterSec, undefined);
    await governor.settle(a.ticket, 0n, 100);
    admitted(await governor.admit(call({ tokensEstimate: 600 })));
    const row = (await governor.status()).limits[0];
    assert.deepEqual(row && [row.used, row.reserved, row.remaining], [100, 600, 300]);
  });
});

describe('budget-aware downgrade', () => {
  const config = {
    budgets: [
      {
        name: 'team',
        scope: { team: '*' },
        amountUsd: '10',
        period: 'monthly',
        softPercent: 50,
      },
    ],
    downgrade: [{ from: '*claude-opus*', to: SONNET }],
  };
  const worstCase = (m: string) => (m === OPUS ? usd('1') : usd('0.20'));

  test('below the soft limit the requested model is used', async () => {
    const { governor } = setup(config);
    const a = admitted(await governor.admit(call({ model: OPUS, worstCase })));
    assert.equal(a.downgradeTo, undefined);
  });

  test('past the soft limit: the cheaper sibling, a header, and only its worst case reserved', async () => {
    const { governor, clock } = setup(config);
    await governor.load([{ at: clock.now, costPicos: usd('6'), team: 'search' }]);
    const a = admitted(await governor.admit(call({ model: OPUS, worstCase })));
    assert.equal(a.downgradeTo, SONNET);
    assert.equal(a.headers['x-tokenledger-downgraded'], `${OPUS} -> ${SONNET}`);
    assert.equal(
      a.headers['x-tokenledger-downgrade-reason'],
      'budget team{team=search} past its soft limit',
    );
    assert.match(
      a.headers['x-tokenledger-budget-warning'] ?? '',
      /past its soft limit \(5\.00 USD\)/,
    );
    assert.equal((await budget(governor, 'team{team=search}')).reservedUsd, '0.20');
    const other = admitted(await governor.admit(call({ team: 'ads', model: OPUS, worstCase })));
    assert.equal(other.downgradeTo, undefined, 'per-team budgets: another team is not affected');
  });

  test('over the hard limit at the requested price, the sibling is admitted if it fits', async () => {
    const { governor, clock } = setup(config);
    await governor.load([{ at: clock.now, costPicos: usd('9.50'), team: 'search' }]);
    const a = admitted(await governor.admit(call({ model: OPUS, worstCase })));
    assert.equal(a.downgradeTo, SONNET);
    const r = refused(await governor.admit(call({ model: OPUS, worstCase: () => usd('1') })));
    assert.equal(r.code, 'gateway.budget_exceeded');
  });

  test('no downgrade to a model the team may not call', async () => {
    const { governor, clock } = setup({ ...config, models: { search: { deny: [SONNET] } } });
    await governor.load([{ at: clock.now, costPicos: usd('6'), team: 'search' }]);
    const a = admitted(await governor.admit(call({ model: OPUS, worstCase })));
    assert.equal(a.downgradeTo, undefined);
  });

  describe("model-scoped budgets and limits count the model called, the target's once downgraded", () => {
    const scoped = {
      budgets: [
        ...config.budgets,
        { name: 'opus', scope: { model: '*opus*' }, amountUsd: '100', period: 'daily' },
        { name: 'sonnet', scope: { model: '*sonnet*' }, amountUsd: '1', period: 'daily' },
      ],
      limits: [{ scope: { model: '*sonnet*' }, tpm: 1000 }],
      downgrade: config.downgrade,
    };

    test('a call downgraded after admission is reserved on the target budget and released from its own', async () => {
      const { governor, clock } = setup(scoped);
      await governor.load([{ at: clock.now, costPicos: usd('6'), team: 'search' }]);
      const a = admitted(await governor.admit(call({ model: OPUS, worstCase })));
      assert.equal(a.downgradeTo, SONNET);
      assert.equal((await budget(governor, 'sonnet')).reservedUsd, '0.20');
      assert.equal((await budget(governor, 'opus')).reservedUsd, '0.00');
      assert.equal((await budget(governor, 'team{team=search}')).reservedUsd, '0.20');
      // Settled on the target's counters: the Sonnet budget is charged, the Opus one is not.
      await governor.settle(a.ticket, usd('0.15'), 50);
      assert.equal((await budget(governor, 'sonnet')).spentUsd, '0.15');
      assert.equal((await budget(governor, 'opus')).spentUsd, '0.00');
      assert.equal((await budget(governor, 'sonnet')).reservedUsd, '0.00');
      assert.equal((await governor.status()).openTickets, 0);
    });

    test('a target whose own hard budget is spent is not called: the call stays on the requested model', async () => {
      const { governor, clock } = setup(scoped);
      await governor.load([
        { at: clock.now, costPicos: usd('5.10'), team: 'search' },
        { at: clock.now, costPicos: usd('0.90'), team: 'search', model: SONNET },
      ]);
      const a = admitted(await governor.admit(call({ model: OPUS, worstCase })));
      assert.equal(a.downgradeTo, undefined);
      assert.equal((await budget(governor, 'opus')).reservedUsd, '1.00');
      assert.equal((await budget(governor, 'sonnet')).reservedUsd, '0.00');
      assert.equal((await budget(governor, 'team{team=search}')).reservedUsd, '1.00');
    });

    test('a call that only fits as the target is refused when the target budget is spent too', async () => {
      const { governor, clock } = setup(scoped);
      await governor.load([
        { at: clock.now, costPicos: usd('8.60'), team: 'search' },
        { at: clock.now, costPicos: usd('0.90'), team: 'search', model: SONNET },
      ]);
      const r = refused(await governor.admit(call({ model: OPUS, worstCase })));
      assert.equal(r.code, 'gateway.budget_exceeded');
      assert.match(r.message, /^Budget "sonnet" would be exceeded/);
      assert.equal((await governor.status()).openTickets, 0);
    });

    test('refused at the requested model by a counter the target does not use, the call goes to the target', async () => {
      // The search team's budget is past its soft limit, so its calls to Opus go to Sonnet; the Opus budget, then
      // the Opus TPM limit (both filled by another team), refuse it at Opus, and neither counts a call to Sonnet.
      const { governor, clock } = setup({
        ...scoped,
        limits: [...scoped.limits, { scope: { model: '*opus*' }, tpm: 1000 }],
      });
      await governor.load([
        { at: clock.now, costPicos: usd('6'), team: 'search' },
        { at: clock.now, costPicos: usd('99.50'), model: OPUS },
      ]);
      const byBudget = admitted(await governor.admit(call({ model: OPUS, worstCase })));
      assert.equal(byBudget.downgradeTo, SONNET);
      assert.equal(
        byBudget.headers['x-tokenledger-downgrade-reason'],
        'budget team{team=search} past its soft limit',
      );
      const cheap = () => usd('0.01');
      const other = admitted(
        await governor.admit(
          call({ team: 'ads', model: OPUS, worstCase: cheap, tokensEstimate: 900 }),
        ),
      );
      assert.equal(other.downgradeTo, undefined, 'the ads team is under its soft limit');
      const byTpm = admitted(
        await governor.admit(
          call({
            model: OPUS,
            worstCase: (m) => (m === OPUS ? usd('0.02') : usd('0.01')),
            tokensEstimate: 600,
          }),
        ),
      );
      assert.equal(byTpm.downgradeTo, SONNET);
    });

    test("the reason header names the requested model's budget that sent the call to the target", async () => {
      const { governor, clock } = setup({
        budgets: [
          {
            name: 'opus',
            scope: { model: '*opus*' },
            amountUsd: '10',
            period: 'daily',
            softPercent: 50,
          },
        ],
        downgrade: config.downgrade,
      });
      await governor.load([{ at: clock.now, costPicos: usd('9.50'), model: OPUS }]);
      const a = admitted(await governor.admit(call({ model: OPUS, worstCase })));
      assert.equal(a.downgradeTo, SONNET);
      assert.equal(a.headers['x-tokenledger-downgrade-reason'], 'budget opus past its soft limit');
    });

    test("the target's model-scoped TPM limit is checked and held", async () => {
      const { governor, clock } = setup(scoped);
      await governor.load([{ at: clock.now, costPicos: usd('6'), team: 'search' }]);
      const big = admitted(
        await governor.admit(call({ model: OPUS, worstCase, tokensEstimate: 2000 })),
      );
      assert.equal(big.downgradeTo, undefined, 'more tokens than the Sonnet TPM limit allows');
      const small = admitted(
        await governor.admit(call({ model: OPUS, worstCase, tokensEstimate: 600 })),
      );
      assert.equal(small.downgradeTo, SONNET);
      const next = admitted(
        await governor.admit(call({ model: OPUS, worstCase, tokensEstimate: 600 })),
      );
      assert.equal(next.downgradeTo, undefined, '600 of 1,000 tokens held for the minute');
    });
  });
});

describe('load and status', () => {
  test('load counts ledger spend in the current window only, per matching budget', async () => {
    const { governor, clock } = setup({
      budgets: [
        { name: 'all', amountUsd: '100', period: 'daily' },
        { name: 'per-user', scope: { user: '*' }, amountUsd: '5', period: 'daily' },
        { name: 'opus', scope: { model: '*opus*' }, amountUsd: '5', period: 'daily' },
      ],
    });
    const matched = await governor.load([
      { at: clock.now - 3600_000, costPicos: usd('1'), user: 'ana', model: OPUS },
      { at: clock.now - 3600_000, costPicos: usd('2'), user: 'bo', model: SONNET },
      { at: clock.now - 48 * 3600_000, costPicos: usd('50'), user: 'ana', model: OPUS },
    ]);
    assert.equal(matched, 3);
    const s = await governor.status();
    assert.deepEqual(
      s.budgets.map((b) => [b.label, b.spentUsd]),
      [
        ['all', '3.00'],
        ['per-user{user=ana}', '1.00'],
        ['per-user{user=bo}', '2.00'],
        ['opus', '1.00'],
      ],
    );
    assert.deepEqual(s.budgets[1]?.scope, { user: 'ana' });
    assert.equal(s.budgets[0]?.remainingUsd, '97.00');
    assert.doesNotThrow(() => JSON.stringify(s), 'status is plain JSON (no bigint)');
  });

  test('a ticket never settled shows in openTickets with its age', async () => {
    const { governor, clock } = setup({});
    admitted(await governor.admit(call()));
    clock.now += 5000;
    const s = await governor.status();
    assert.equal(s.openTickets, 1);
    assert.equal(s.oldestTicketAgeMs, 5000);
  });
});

describe('reservation expiry', () => {
  const config = (expireAfterMs?: number) => ({
    budgets: [{ name: 'd', amountUsd: '1', period: 'daily' }],
    limits: [{ name: 't', tpm: 1000 }],
    ...(expireAfterMs === undefined ? {} : { reservation: { expireAfterMs } }),
  });
  function logger() {
    const lines: string[] = [];
    const log = {
      info() {},
      warn: (m: string, f?: unknown) => lines.push(`${m} ${JSON.stringify(f)}`),
      error() {},
    };
    return { lines, log };
  }

  test('a ticket never settled is released after the upstream timeout plus the margin, logged and counted', async () => {
    const { lines, log } = logger();
    const { governor, clock } = setup(config(), undefined, { log, upstreamTimeoutMs: 30_000 });
    admitted(await governor.admit(call({ cost: '0.60', tokensEstimate: 600 })));
    refused(await governor.admit(call({ cost: '0.60', tokensEstimate: 100 })));
    clock.now += 30_000 + EXPIRY_MARGIN_MS - 1;
    refused(await governor.admit(call({ cost: '0.60', tokensEstimate: 100 })));
    assert.equal((await governor.status()).expiredTickets, 0, 'not a millisecond early');
    clock.now += 1;
    admitted(await governor.admit(call({ cost: '0.60', tokensEstimate: 100 })));
    const s = await governor.status();
    assert.equal(s.expiredTickets, 1);
    assert.equal(s.expireAfterMs, 90_000);
    assert.equal(s.openTickets, 1, 'only the new call holds a reservation');
    assert.equal((await budget(governor, 'd')).reservedUsd, '0.60');
    assert.deepEqual(s.limits[0] && [s.limits[0].reserved, s.limits[0].used], [100, 0]);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0] ?? '',
      /reservations expired unsettled .*"tickets":1.*"oldestAgeMs":90000/,
    );
  });

  test('the default bound is 300 s (the gateway default timeout) plus the margin; config overrides it', async () => {
    assert.equal(
      (await setup(config()).governor.status()).expireAfterMs,
      300_000 + EXPIRY_MARGIN_MS,
    );
    const { governor, clock } = setup(config(5000), undefined, { upstreamTimeoutMs: 1 });
    assert.equal((await governor.status()).expireAfterMs, 5000);
    admitted(await governor.admit(call()));
    clock.now += 4999;
    assert.equal((await governor.status()).openTickets, 1);
    clock.now += 1;
    const s = await governor.status();
    assert.deepEqual(
      [s.openTickets, s.expiredTickets],
      [0, 1],
      'status releases expired tickets too',
    );
  });

  test('settling an expired ticket charges the billed cost once; the reservation is not released twice', async () => {
    const { lines, log } = logger();
    const { governor, clock } = setup(config(1000), undefined, { log });
    const lost = admitted(await governor.admit(call({ cost: '0.50', tokensEstimate: 500 })));
    clock.now += 1000;
    const live = admitted(await governor.admit(call({ cost: '0.40', tokensEstimate: 400 })));
    assert.equal((await budget(governor, 'd')).reservedUsd, '0.40');
    assert.equal(await governor.settle(lost.ticket, usd('0.30'), 300), true);
    let row = await budget(governor, 'd');
    assert.equal(row.spentUsd, '0.30', 'the late call is charged');
    assert.equal(row.reservedUsd, '0.40', "the live call's reservation is untouched");
    assert.equal(await governor.settle(lost.ticket, usd('0.30'), 300), false, 'only once');
    assert.equal(await governor.release(lost.ticket), false);
    assert.equal((await budget(governor, 'd')).spentUsd, '0.30');
    await governor.settle(live.ticket, usd('0.10'), 100);
    row = await budget(governor, 'd');
    assert.deepEqual([row.spentUsd, row.reservedUsd], ['0.40', '0.00']);
    const s = await governor.status();
    assert.deepEqual(s.limits[0] && [s.limits[0].used, s.limits[0].reserved], [400, 0]);
    assert.deepEqual([s.expiredTickets, s.lateSettlements, s.openTickets], [1, 1, 0]);
    assert.match(lines.at(-1) ?? '', /call finished after its reservation expired .*"ageMs":1000/);
  });

  test('releasing an expired ticket changes nothing and reports true once', async () => {
    const { governor, clock } = setup(config(1000));
    const a = admitted(await governor.admit(call({ cost: '0.50' })));
    clock.now += 1000;
    await governor.status();
    assert.equal(await governor.release(a.ticket), true);
    assert.equal(await governor.release(a.ticket), false);
    const row = await budget(governor, 'd');
    assert.deepEqual([row.spentUsd, row.reservedUsd], ['0.00', '0.00']);
  });

  test('a touched ticket (a stream still sending) keeps its reservation; expiry counts from the last touch', async () => {
    const { governor, clock } = setup(config(1000));
    const streaming = admitted(await governor.admit(call({ cost: '0.50' })));
    const quiet = admitted(await governor.admit(call({ cost: '0.30' })));
    clock.now += 900;
    governor.touch(streaming.ticket);
    clock.now += 900; // 1800 ms after admission, 900 after the touch
    let s = await governor.status();
    assert.deepEqual([s.expiredTickets, s.openTickets], [1, 1], 'only the untouched one expired');
    assert.equal((await budget(governor, 'd')).reservedUsd, '0.50');
    // Touching a settled or expired ticket changes nothing.
    governor.touch(quiet.ticket);
    clock.now += 100;
    s = await governor.status();
    assert.deepEqual([s.expiredTickets, s.openTickets], [2, 0]);
    assert.equal((await budget(governor, 'd')).reservedUsd, '0.00');
  });

  test('only tickets past the bound expire, oldest first, in one sweep', async () => {
    const { lines, log } = logger();
    const { governor, clock } = setup(
      {
        budgets: [{ name: 'd', amountUsd: '10', period: 'daily' }],
        reservation: { expireAfterMs: 1000 },
      },
      undefined,
      { log },
    );
    admitted(await governor.admit(call({ cost: '1' })));
    admitted(await governor.admit(call({ cost: '1' })));
    clock.now += 500;
    const young = admitted(await governor.admit(call({ cost: '1' })));
    clock.now += 500;
    const s = await governor.status();
    assert.deepEqual([s.expiredTickets, s.openTickets], [2, 1]);
    assert.equal((await budget(governor, 'd')).reservedUsd, '1.00');
    assert.equal(lines.length, 1, 'one log line per sweep');
    assert.equal(await governor.settle(young.ticket, usd('0.5'), 1), true);
    assert.equal((await budget(governor, 'd')).reservedUsd, '0.00');
  });
});

describe('replicas sharing a store: holds the store expires', () => {
  const config = {
    budgets: [{ name: 'd', amountUsd: '1', period: 'daily' }],
    reservation: { expireAfterMs: 1000 },
  };
  /** Two governors (replicas) on one store and one clock. */
  function replicas(store: CounterStore = createMemoryCounterStore()) {
    const a = setup(config, undefined, { store });
    const b = createGovernor(gatewayConfigSchema.parse(config), {
      clock: () => a.clock.now,
      store,
    });
    return { a: a.governor, b, clock: a.clock };
  }

  test('ticket ids differ across governors', async () => {
    const { a, b } = replicas();
    const x = admitted(await a.admit(call({ cost: '0.10' })));
    const y = admitted(await b.admit(call({ cost: '0.10' })));
    assert.notEqual(x.ticket.id, y.ticket.id);
  });

  test('the store releases a crashed replica’s hold; its own expiry and late settle release nothing more', async () => {
    const { a, b, clock } = replicas();
    const lost = admitted(await a.admit(call({ cost: '0.60' })));
    refused(await b.admit(call({ cost: '0.60' })));
    clock.now += 1000;
    // Replica a never admits again: b's admission releases a's hold in the store.
    const live = admitted(await b.admit(call({ cost: '0.60' })));
    assert.equal((await budget(b, 'd')).reservedUsd, '0.60');
    // a's own expiry and its late settlement find the hold gone: only b's call stays reserved.
    const s = await a.status();
    assert.deepEqual([s.expiredTickets, s.openTickets], [1, 0]);
    assert.equal((await budget(a, 'd')).reservedUsd, '0.60');
    assert.equal(await a.settle(lost.ticket, usd('0.10'), 10), true);
    let row = await budget(b, 'd');
    assert.deepEqual([row.spentUsd, row.reservedUsd], ['0.10', '0.60']);
    assert.equal((await a.status()).lateSettlements, 1);
    await b.settle(live.ticket, usd('0.20'), 10);
    row = await budget(b, 'd');
    assert.deepEqual([row.spentUsd, row.reservedUsd], ['0.30', '0.00']);
  });

  test('settling a ticket whose hold the store released charges once, releases nothing', async () => {
    const { a, b, clock } = replicas();
    const slow = admitted(await a.admit(call({ cost: '0.60' })));
    clock.now += 1000;
    admitted(await b.admit(call({ cost: '0.30' })));
    // a has not swept yet: its ticket is still open locally, but the store released the hold.
    assert.equal(await a.settle(slow.ticket, usd('0.05'), 10), true);
    const row = await budget(b, 'd');
    assert.deepEqual([row.spentUsd, row.reservedUsd], ['0.05', '0.30']);
  });

  test('a settlement that could not reach the store is released by the store after the bound', async () => {
    const memory = createMemoryCounterStore();
    let down = false;
    const store: CounterStore = {
      ...memory,
      commit: (ops, now, holdId) =>
        down ? Promise.reject(new Error('unreachable')) : memory.commit(ops, now, holdId),
    };
    const { a, b, clock } = replicas(store);
    const t = admitted(await a.admit(call({ cost: '0.60' })));
    down = true;
    await assert.rejects(a.settle(t.ticket, usd('0.10'), 10), /unreachable/);
    down = false;
    clock.now += 999;
    refused(await b.admit(call({ cost: '0.60' })));
    clock.now += 1;
    admitted(await b.admit(call({ cost: '0.60' })));
    assert.equal((await budget(a, 'd')).reservedUsd, '0.60');
  });

  test('a touch extends the store’s hold as well as the local ticket', async () => {
    const { a, b, clock } = replicas();
    const streaming = admitted(await a.admit(call({ cost: '0.60' })));
    clock.now += 900;
    a.touch(streaming.ticket);
    clock.now += 100;
    refused(await b.admit(call({ cost: '0.60' }))); // still held: the stream is alive
    clock.now += 900;
    admitted(await b.admit(call({ cost: '0.60' })));
  });

  test('a downgrade lowers the hold with the reservation: its expiry releases only what is still reserved', async () => {
    const store = createMemoryCounterStore();
    const cfg = {
      budgets: [{ name: 'm', amountUsd: '10', period: 'monthly', softPercent: 50 }],
      downgrade: [{ from: '*claude-opus*', to: SONNET }],
      reservation: { expireAfterMs: 1000 },
    };
    const { governor: a, clock } = setup(cfg, undefined, { store });
    const b = createGovernor(gatewayConfigSchema.parse(cfg), { clock: () => clock.now, store });
    await a.load([{ at: clock.now, costPicos: usd('6') }]);
    const worstCase = (m: string) => (m === OPUS ? usd('1') : usd('0.20'));
    const d = admitted(await a.admit(call({ model: OPUS, worstCase })));
    assert.equal(d.downgradeTo, SONNET);
    clock.now += 500;
    admitted(await b.admit(call({ cost: '0.30' })));
    assert.equal((await budget(b, 'm')).reservedUsd, '0.50');
    clock.now += 500; // a's hold expires; b's call is live
    assert.equal((await budget(b, 'm')).reservedUsd, '0.30');
  });
});
