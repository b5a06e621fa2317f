/**
 * The telemetry reports' SQL against hand-computed expectations: apportioning of prompt costs to tool calls (exact,
 * remainders to the earliest calls), accept and success rates, active and idle time, cost per commit, PR and
 * active hour (rounded half up to a pico-USD), per-developer rollups, usage grouped by telemetry dimensions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { limiter } from '../../core/index.ts';
import type {
  TelemetryEventRow,
  TelemetryMetricRow,
  TelemetryStore,
  TelemetryUsageResult,
  UsageRow,
} from '../store.ts';
import { MIGRATIONS, TELEMETRY_MIGRATIONS } from './schema.ts';
import { createTelemetryStore } from './telemetry.ts';
import { telemetryReport } from './telemetry-report.ts';

const T0 = Date.UTC(2026, 10, 20, 10, 0);
const MIN = 60_000;
const ANA = 'ana@example.com';
const BO = 'bo@example.com';
const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';

let seq = 0;
function event(
  kind: string,
  session: string,
  prompt: string | null,
  atMin: number,
  fields: Partial<TelemetryEventRow> = {},
): TelemetryEventRow {
  const user = session.startsWith('S1') ? ANA : BO;
  return {
    eventKey: `${session}|${seq++}|${kind}`,
    at: T0 + atMin * MIN,
    source: 'claude_code',
    kind,
    event: kind,
    sessionId: session,
    promptId: prompt,
    userId: `id-${user}`,
    userEmail: user,
    identity: '{}',
    dimensions: JSON.stringify({
      team: { value: user === ANA ? 'search' : 'ads', from: 'resource' },
    }),
    account: null,
    model: null,
    modelBase: null,
    inputTokens: null,
    outputTokens: null,
    cacheReadTokens: null,
    cacheWrite5mTokens: null,
    cacheWrite1hTokens: null,
    costPicos: null,
    priceId: null,
    priceFlags: null,
    catalogHash: null,
    costReportedUsd: null,
    durationMs: null,
    requestId: null,
    toolName: null,
    decision: null,
    success: null,
    terminal: 'vscode',
    version: '2.1.300',
    querySource: null,
    attributes: '{}',
    receivedAt: T0,
    ...fields,
  };
}

const request = (
  session: string,
  prompt: string | null,
  atMin: number,
  cost: bigint | null,
  input: number,
  output: number,
  querySource = 'repl_main_thread',
) =>
  event('api_request', session, prompt, atMin, {
    model: cost === null ? 'acme.unknown-model' : SONNET,
    modelBase: cost === null ? null : 'claude-sonnet-4-5',
    inputTokens: input,
    outputTokens: output,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    costPicos: cost,
    costReportedUsd: '0.01',
    querySource,
  });
const toolResult = (
  session: string,
  prompt: string,
  atMin: number,
  tool: string,
  success: boolean,
  durationMs: number,
) => event('tool_result', session, prompt, atMin, { toolName: tool, success, durationMs });
const decision = (
  session: string,
  prompt: string,
  atMin: number,
  tool: string,
  decision: 'accept' | 'reject',
  source: string,
) =>
  event('tool_decision', session, prompt, atMin, {
    toolName: tool,
    decision,
    attributes: JSON.stringify({ source }),
  });

let point = 0;
function metric(
  session: string,
  name: string,
  value: string,
  atMin: number,
  type: string | null = null,
): TelemetryMetricRow {
  const user = session.startsWith('S1') ? ANA : BO;
  return {
    pointKey: `p${point++}`,
    at: T0 + atMin * MIN,
    from: T0 + (atMin - 1) * MIN,
    metric: name,
    type,
    model: null,
    value,
    sessionId: session,
    userId: `id-${user}`,
    userEmail: user,
    dimensions: '{}',
    terminal: 'vscode',
    version: '2.1.300',
    receivedAt: T0,
    attributes: '{}',
  };
}

/*
 * S1 (ana), from T0 to T0 + 120 min:
 *   P1: requests of 10 and 7 pico-USD (150 in / 15 out), tool calls Read (1 min), Read (2), Edit (3) → 17 = 6 + 6 + 5
 *       (Read 12, Edit 5); requests 2 = 1 + 1 + 0; input 150 = 50 × 3; output 15 = 5 × 3.
 *   P2: one request of 1,000,000,000,002 pico-USD, no tool → (no tool).
 *   P3: one unpriced request (20 in), tool call Bash (failed).
 *   commits 2 + 1, one PR, active time 1,800.5 s (user) + 1,799.5 s (cli) = 1 h.
 * S2 (bo), from T0 + 200 min to T0 + 200.5 min:
 *   Q1: a request of 5 pico-USD and an api_error, tool calls Grep, Grep → cost 3 + 2, requests 1 + 1, errors 1 + 0.
 *   active time 60 s (user).
 */
const EVENTS: TelemetryEventRow[] = [
  // Written out of time order: shares follow the calls' times, not the write order.
  toolResult('S1', 'P1', 3, 'Edit', true, 200),
  request('S1', 'P1', 0, 10n, 100, 10),
  request('S1', 'P1', 0.5, 7n, 50, 5, 'compact'),
  toolResult('S1', 'P1', 2, 'Read', false, 300),
  toolResult('S1', 'P1', 1, 'Read', true, 100),
  decision('S1', 'P1', 0.8, 'Read', 'accept', 'config'),
  decision('S1', 'P1', 1.8, 'Edit', 'accept', 'user_temporary'),
  decision('S1', 'P1', 1.9, 'Edit', 'reject', 'user_reject'),
  request('S1', 'P2', 60, 1_000_000_000_002n, 1000, 100),
  request('S1', 'P3', 119, null, 20, 0),
  decision('S1', 'P3', 119.5, 'Bash', 'accept', 'user_permanent'),
  decision('S1', 'P3', 119.6, 'Bash', 'reject', 'user_abort'),
  toolResult('S1', 'P3', 120, 'Bash', false, 400),
  request('S2', 'Q1', 200, 5n, 10, 1),
  event('api_error', 'S2', 'Q1', 200.1, { model: SONNET, querySource: 'repl_main_thread' }),
  toolResult('S2', 'Q1', 200.2, 'Grep', true, 50),
  toolResult('S2', 'Q1', 200.3, 'Grep', true, 70),
  decision('S2', 'Q1', 200.5, 'Grep', 'accept', 'config'),
];
const METRICS: TelemetryMetricRow[] = [
  metric('S1', 'claude_code.commit.count', '2', 30),
  metric('S1', 'claude_code.commit.count', '1', 90),
  metric('S1', 'claude_code.pull_request.count', '1', 100),
  metric('S1', 'claude_code.active_time.total', '1800.5', 60, 'user'),
  metric('S1', 'claude_code.active_time.total', '1799.5', 120, 'cli'),
  metric('S2', 'claude_code.active_time.total', '60', 201, 'user'),
];
const S1_COST = 10n + 7n + 1_000_000_000_002n;

const dir = tempDir();
let instance: DuckDBInstance;
let conn: DuckDBConnection;
let store: TelemetryStore;
const RANGE = { from: T0 - MIN, to: T0 + 1000 * MIN };

before(async () => {
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  // The reports read telemetry_matches (a metric row a span covers counts nowhere), which MIGRATIONS creates.
  for (const sql of [...MIGRATIONS, ...TELEMETRY_MIGRATIONS]) await conn.run(sql);
  store = createTelemetryStore(conn, dir.path, limiter(1));
  const written = await store.write(EVENTS, METRICS);
  assert.deepEqual(written, { events: EVENTS.length, metrics: METRICS.length });
});
after(() => {
  conn.closeSync();
  instance.closeSync();
  dir.remove();
});

const costs = (rows: readonly UsageRow[]) =>
  Object.fromEntries(rows.map((r) => [Object.values(r.keys).join(','), r.costPicos]));
const requestsOf = (r: TelemetryUsageResult) => {
  assert.equal(r.measure, 'requests');
  return r as Extract<TelemetryUsageResult, { measure: 'requests' }>;
};

describe('sessions', () => {
  test('active and idle time, cost per commit, PR and active hour', async () => {
    const sessions = await store.telemetryReport({ kind: 'sessions', ...RANGE, limit: 10 });
    assert.deepEqual(
      sessions.map((s) => s.sessionId),
      ['S1', 'S2'],
    );
    const [s1, s2] = sessions;
    assert.ok(s1 && s2);
    assert.equal(s1.user, ANA);
    assert.equal(s1.requests, 4);
    assert.equal(s1.costPicos, S1_COST);
    assert.equal(s1.unpricedRequests, 1);
    assert.equal(s1.toolCalls, 4);
    assert.equal(s1.commits, 3n);
    assert.equal(s1.pullRequests, 1n);
    assert.equal(s1.toolAccepts, 3);
    assert.equal(s1.toolRejects, 2);
    assert.equal(s1.activeMs, 3_600_000);
    assert.equal(s1.activeUserMs, 1_800_500);
    assert.equal(s1.activeCliMs, 1_799_500);
    // Wall 120 min − active 60 min.
    assert.equal(s1.last - s1.first, 120 * MIN);
    assert.equal(s1.idleMs, 60 * MIN);
    // 1,000,000,000,019 / 3 = 333,333,333,339.67 → rounded half up.
    assert.equal(s1.costPerCommitPicos, 333_333_333_340n);
    assert.equal(s1.costPerPullRequestPicos, S1_COST);
    // One active hour: the cost itself.
    assert.equal(s1.costPerActiveHourPicos, S1_COST);

    assert.equal(s2.costPicos, 5n);
    assert.equal(s2.requests, 1);
    assert.equal(s2.commits, 0n);
    assert.equal(s2.costPerCommitPicos, null);
    assert.equal(s2.costPerPullRequestPicos, null);
    // 5 pico-USD in 60 s of activity: 300 per active hour. Active exceeds the 18 s wall time: idle 0.
    assert.equal(s2.activeMs, 60_000);
    assert.equal(s2.costPerActiveHourPicos, 300n);
    assert.equal(s2.idleMs, 0);
  });

  test('--user keeps one developer; the limit keeps the costliest', async () => {
    const bo = await store.telemetryReport({ kind: 'sessions', ...RANGE, limit: 10, user: BO });
    assert.deepEqual(
      bo.map((s) => s.sessionId),
      ['S2'],
    );
    const top = await store.sessions(RANGE.from, RANGE.to, 1);
    assert.deepEqual(
      top.map((s) => s.sessionId),
      ['S1'],
    );
  });

  test('a session without active-time metrics has no active or idle time', async () => {
    const sessions = await store.telemetryReport({
      kind: 'sessions',
      from: T0 - MIN,
      to: T0 + 200.2 * MIN, // S2's metric point (T0 + 201 min) is outside
      limit: 10,
    });
    const s2 = sessions.find((s) => s.sessionId === 'S2');
    assert.equal(s2?.activeMs, null);
    assert.equal(s2?.idleMs, null);
    assert.equal(s2?.costPerActiveHourPicos, null);
  });
});

describe('developers', () => {
  test('per-user rollup with accept rate and unit costs', async () => {
    const users = await store.telemetryReport({ kind: 'users', ...RANGE });
    assert.deepEqual(
      users.map((u) => [
        u.user,
        u.sessions,
        u.costPicos,
        u.commits,
        u.pullRequests,
        u.activeMs,
        u.toolAccepts,
        u.toolRejects,
        u.toolAcceptRate,
        u.costPerCommitPicos,
        u.costPerActiveHourPicos,
      ]),
      [
        [ANA, 1, S1_COST, 3n, 1n, 3_600_000, 3, 2, 0.6, 333_333_333_340n, S1_COST],
        [BO, 1, 5n, 0n, 0n, 60_000, 1, 0, 1, null, 300n],
      ],
    );
  });
});

describe('tools', () => {
  test('calls, success, durations, decisions by source, apportioned cost', async () => {
    const tools = await store.telemetryReport({ kind: 'tools', ...RANGE, byUser: false });
    assert.deepEqual(
      tools.map((t) => [t.tool, t.costPicos, t.requests, t.unpricedRequests, t.calls]),
      [
        ['(no tool)', 1_000_000_000_002n, 1, 0, 0],
        ['Read', 12n, 2, 0, 2],
        // Same cost as Edit: more calls first.
        ['Grep', 5n, 2, 0, 2],
        ['Edit', 5n, 0, 0, 1],
        ['Bash', 0n, 1, 1, 1],
      ],
    );
    // Every pico is somewhere: the shares add up to the requests' cost.
    assert.equal(
      tools.reduce((a, t) => a + t.costPicos, 0n),
      S1_COST + 5n,
    );
    const read = tools.find((t) => t.tool === 'Read');
    assert.equal(read?.successes, 1);
    assert.equal(read?.failures, 1);
    assert.equal(read?.successRate, 0.5);
    assert.equal(read?.meanDurationMs, 200);
    // Interpolated: 100 + 0.95 × (300 − 100).
    assert.equal(read?.p95DurationMs, 290);
    const edit = tools.find((t) => t.tool === 'Edit');
    assert.equal(edit?.acceptRate, 0.5);
    assert.deepEqual(edit?.bySource, {
      user_temporary: { accept: 1, reject: 0 },
      user_reject: { accept: 0, reject: 1 },
    });
    const bash = tools.find((t) => t.tool === 'Bash');
    assert.deepEqual(bash?.bySource, {
      user_permanent: { accept: 1, reject: 0 },
      user_abort: { accept: 0, reject: 1 },
    });
    assert.equal(bash?.successRate, 0);
    const none = tools.find((t) => t.tool === '(no tool)');
    assert.equal(none?.acceptRate, null);
    assert.equal(none?.meanDurationMs, null);
  });

  test('by tool and user', async () => {
    const tools = await store.telemetryReport({ kind: 'tools', ...RANGE, byUser: true });
    assert.deepEqual(
      tools.map((t) => [t.tool, t.user, t.costPicos, t.calls]),
      [
        ['(no tool)', ANA, 1_000_000_000_002n, 0],
        ['Read', ANA, 12n, 2],
        ['Grep', BO, 5n, 2],
        ['Edit', ANA, 5n, 1],
        ['Bash', ANA, 0n, 1],
      ],
    );
  });

  test('remainders go to the earliest calls, whatever the range of the calls', async () => {
    // Requests of S1's P1 only (0–0.5 min); its tool calls (1–3 min) are outside the range but still share.
    const usage = requestsOf(
      await store.telemetryReport({
        kind: 'usage',
        groupBy: ['tool'],
        where: [],
        since: T0,
        until: T0 + 0.75 * MIN,
      }),
    );
    // 17 over Read (1 min), Read (2 min), Edit (3 min): 6 + 6 + 5; the 2 requests: 1 + 1 + 0.
    assert.deepEqual(costs(usage.rows), { Read: 12n, Edit: 5n });
    const read = usage.rows.find((r) => r.keys.tool === 'Read');
    const edit = usage.rows.find((r) => r.keys.tool === 'Edit');
    assert.deepEqual([read?.requests, read?.inputTokens, read?.outputTokens], [2, 100n, 10n]);
    assert.deepEqual([edit?.requests, edit?.inputTokens, edit?.outputTokens], [0, 50n, 5n]);
    assert.equal(usage.total.costPicos, 17n);
    assert.equal(usage.total.requests, 2);
  });
});

describe('usage by telemetry dimensions', () => {
  test('by tool: the same apportioning, the total equals the requests', async () => {
    const usage = requestsOf(
      await store.telemetryReport({ kind: 'usage', groupBy: ['tool'], where: [], ...range() }),
    );
    assert.deepEqual(costs(usage.rows), {
      '(no tool)': 1_000_000_000_002n,
      Read: 12n,
      Edit: 5n,
      Grep: 5n,
      Bash: 0n,
    });
    assert.equal(usage.total.costPicos, S1_COST + 5n);
    assert.equal(usage.total.requests, 6);
    assert.equal(usage.total.errors, 1);
    assert.equal(usage.total.unpricedRequests, 1);
    const grep = usage.rows.find((r) => r.keys.tool === 'Grep');
    assert.deepEqual([grep?.requests, grep?.errors], [2, 1]);
    assert.deepEqual(usage.unpriced, [{ model: 'acme.unknown-model', requests: 1, tokens: 20n }]);
  });

  test('by tool and team, filtered by tool', async () => {
    const usage = requestsOf(
      await store.telemetryReport({
        kind: 'usage',
        groupBy: ['team', 'tool'],
        where: [{ key: 'tool', value: 'Read' }],
        ...range(),
      }),
    );
    assert.deepEqual(
      usage.rows.map((r) => [r.keys.team, r.keys.tool, r.costPicos]),
      [['search', 'Read', 12n]],
    );
    assert.equal(usage.total.costPicos, 12n);
    // Two values of one key: either tool.
    const either = requestsOf(
      await store.telemetryReport({
        kind: 'usage',
        groupBy: ['tool'],
        where: [
          { key: 'tool', value: 'Read' },
          { key: 'tool', value: 'Grep' },
        ],
        ...range(),
      }),
    );
    assert.deepEqual(either.rows.map((r) => r.keys.tool).sort(), ['Grep', 'Read']);
  });

  test('by query source, terminal, version, prompt, model; limit keeps the total', async () => {
    const bySource = requestsOf(
      await store.telemetryReport({
        kind: 'usage',
        groupBy: ['query_source'],
        where: [],
        ...range(),
      }),
    );
    assert.deepEqual(costs(bySource.rows), {
      repl_main_thread: 1_000_000_000_002n + 10n + 5n,
      compact: 7n,
    });
    const byPrompt = requestsOf(
      await store.telemetryReport({
        kind: 'usage',
        groupBy: ['prompt'],
        where: [{ key: 'user', value: ANA }],
        limit: 2,
        ...range(),
      }),
    );
    assert.deepEqual(costs(byPrompt.rows), { P2: 1_000_000_000_002n, P1: 17n });
    assert.equal(byPrompt.total.costPicos, S1_COST);
    const byVersion = requestsOf(
      await store.telemetryReport({
        kind: 'usage',
        groupBy: ['terminal', 'version', 'model'],
        where: [{ key: 'session', value: 'S2' }],
        ...range(),
      }),
    );
    // The api_error event has no model_base: it keeps the model as sent.
    assert.deepEqual(
      byVersion.rows.map((r) => [r.keys.model, r.requests, r.errors, r.costPicos]),
      [
        ['claude-sonnet-4-5', 1, 0, 5n],
        [SONNET, 1, 1, 0n],
      ],
    );
    const byDay = requestsOf(
      await store.telemetryReport({ kind: 'usage', groupBy: ['day'], where: [], ...range() }),
    );
    assert.deepEqual(costs(byDay.rows), { '2026-11-20': S1_COST + 5n });
  });

  test('language needs the metric attributes column; then counts edit decisions', async () => {
    // A ledger from before the column's migration.
    await conn.run('ALTER TABLE telemetry_metrics DROP COLUMN attributes');
    await assert.rejects(
      store.telemetryReport({ kind: 'usage', groupBy: ['language'], where: [], ...range() }),
      /language comes from the claude_code\.code_edit_tool\.decision metric/,
    );
    await conn.run('ALTER TABLE telemetry_metrics ADD COLUMN attributes VARCHAR');
    try {
      const point = (key: string, value: string, attrs: Record<string, string>) =>
        conn.run(
          `INSERT INTO telemetry_metrics VALUES ($1, epoch_ms($2::BIGINT), epoch_ms($2::BIGINT), 'claude_code.code_edit_tool.decision',
             NULL, NULL, $3, 'S1', 'id-ana', $4, '{}', 'vscode', '2.1.300', epoch_ms($2::BIGINT), $5)`,
          [key, T0 + 5 * MIN, value, ANA, JSON.stringify(attrs)],
        );
      await point('l1', '3', { language: 'TypeScript', decision: 'accept', tool_name: 'Edit' });
      await point('l2', '1', { language: 'TypeScript', decision: 'reject', tool_name: 'Write' });
      await point('l3', '2', { language: 'Python', decision: 'accept', tool_name: 'Edit' });
      const usage = await store.telemetryReport({
        kind: 'usage',
        groupBy: ['language'],
        where: [],
        ...range(),
      });
      assert.equal(usage.measure, 'edit_decisions');
      assert.ok(usage.measure === 'edit_decisions');
      assert.deepEqual(
        usage.rows.map((r) => [r.keys.language, r.decisions, r.accepts, r.rejects]),
        [
          ['TypeScript', 4n, 3n, 1n],
          ['Python', 2n, 2n, 0n],
        ],
      );
      assert.deepEqual([usage.total.decisions, usage.total.accepts], [6n, 5n]);
      const edits = await store.telemetryReport({
        kind: 'usage',
        groupBy: ['language', 'tool'],
        where: [{ key: 'tool', value: 'Edit' }],
        ...range(),
      });
      assert.ok(edits.measure === 'edit_decisions');
      assert.equal(edits.total.decisions, 5n);
      await assert.rejects(
        store.telemetryReport({
          kind: 'usage',
          groupBy: ['language', 'prompt'],
          where: [],
          ...range(),
        }),
        /prompt cannot be combined with language/,
      );
    } finally {
      await conn.run("DELETE FROM telemetry_metrics WHERE point_key IN ('l1', 'l2', 'l3')");
    }
  });

  test('the connection-level function answers the same as the store member', async () => {
    const direct = await telemetryReport(conn, { kind: 'users', ...RANGE, user: BO });
    assert.deepEqual(
      direct.map((u) => u.user),
      [BO],
    );
  });
});

describe('one ledger: a matched call costs what its record costs', () => {
  test('sessions, developers, tools and usage take the record’s cost; an unpriced record leaves the call unpriced', async () => {
    const s2 = EVENTS.find((e) => e.sessionId === 'S2' && e.kind === 'api_request');
    const s1 = EVENTS.find((e) => e.promptId === 'P2' && e.kind === 'api_request');
    assert.ok(s2 && s1);
    // The same call reported twice (e.g. a re-sent event with a new key): both match one record, which counts once.
    const again = { ...s2, eventKey: 'again', at: s2.at + 1000 };
    const record = (id: string, cost: string) =>
      `('${id}', TIMESTAMP '2026-11-20 13:20:00', 'a', 'us-east-1', 'Converse', 'm', 'm', 'in_region', 'base',
        'standard', 10, 1, 0, 0, 0, 't', 'u', 'f', 'p', 'e', 'c', 'a', 's', '{}', ${cost}, 'h', '[]', 'logs', 1,
        TIMESTAMP '2026-11-20 14:00:00')`;
    try {
      await store.write([again], []);
      await conn.run(`INSERT INTO usage (request_id, ts, account, region, operation, model_id, model, scope,
        model_form, tier, input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
        team, "user", feature, project, environment, cost_center, application, session, attribution, cost_pusd,
        catalog_hash, flags, source, source_line, ingested_at)
        VALUES ${record('r-priced', '50')}, ${record('r-unpriced', 'NULL')}`);
      await conn.run(`INSERT INTO telemetry_matches VALUES
        ('${s2.eventKey}', epoch_ms(${s2.at}), 'request_id', 'r-priced', 0, false),
        ('again', epoch_ms(${again.at}), 'request_id', 'r-priced', 0, false),
        ('${s1.eventKey}', epoch_ms(${s1.at}), 'fingerprint', 'r-unpriced', 2000, false)`);

      const sessions = await store.sessions(RANGE.from, RANGE.to, 10);
      assert.deepEqual(
        sessions.map((x) => [x.sessionId, x.requests, x.costPicos, x.unpricedRequests]),
        [
          ['S2', 2, 50n, 0],
          ['S1', 4, 17n, 2],
        ],
      );
      const users = await store.telemetryReport({ kind: 'users', ...RANGE });
      assert.deepEqual(
        users.map((u) => [u.user, u.costPicos, u.unpricedRequests]),
        [
          [BO, 50n, 0],
          [ANA, 17n, 2],
        ],
      );
      const tools = await store.telemetryReport({ kind: 'tools', byUser: false, ...RANGE });
      assert.deepEqual(Object.fromEntries(tools.map((t) => [t.tool, t.costPicos])), {
        Grep: 50n,
        Read: 12n,
        Edit: 5n,
        Bash: 0n,
        '(no tool)': 0n,
      });
      const bySession = requestsOf(
        await store.telemetryReport({ kind: 'usage', groupBy: ['session'], where: [], ...range() }),
      );
      assert.deepEqual(costs(bySession.rows), { S2: 50n, S1: 17n });
      assert.equal(bySession.total.costPicos, 67n);
      assert.deepEqual(
        bySession.unpriced.map((u) => [u.model, u.requests]),
        [
          ['acme.unknown-model', 1],
          [SONNET, 1],
        ],
      );
    } finally {
      await conn.run("DELETE FROM telemetry_events WHERE event_key = 'again'");
      await conn.run('DELETE FROM telemetry_matches');
      await conn.run("DELETE FROM usage WHERE request_id IN ('r-priced', 'r-unpriced')");
    }
  });
});

function range() {
  return { since: RANGE.from, until: RANGE.to };
}
