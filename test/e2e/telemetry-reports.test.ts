/**
 * `tokenledger sessions`, `sessions --by user`, `tools` and `report --by tool` end to end: Claude Code-shaped OTLP/JSON
 * events and metrics go through the receiver's sink (decode, price from tokens with the catalog, store), then the CLI
 * runs as a user runs it, with a pinned clock. Dollars are computed by hand below; tables are golden files.
 *
 * Prices (catalog): us. Sonnet 4.5 $3.30 / $16.50 per 1M (3,300,000 / 16,500,000 pico-USD a token); global.
 * Haiku 4.5 $1.00 / $5.00 per 1M.
 *
 * ana, session sess-ana (10:00:05–10:30:00, active 600 s user + 300 s cli = 15 min, 2 commits, 1 PR):
 *   P1  Sonnet 1,000 in / 100 out = 4,950,000,000; tool calls Read, Edit → 2,475,000,000 each. Bash rejected.
 *   P2  Haiku 1,001 in = 1,001,000,000; calls Grep, Grep, Read → 333,666,667 + 333,666,667 + 333,666,666.
 *   P3  Sonnet 10,000 in / 1,000 out = 49,500,000,000; no tool call → (no tool).
 *   total 55,451,000,000; per commit 27,725,500,000; per active hour ×4 = 221,804,000,000; idle 29m55s − 15m.
 * bo, session sess-bo (11:00:00–11:00:01, active 120 s):
 *   Q1  Sonnet 2,000 in / 200 out = 9,900,000,000; call Read. Per active hour ×30 = 297,000,000,000.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TOOL_FIELDS } from '../../src/cli/commands/tools.ts';
import { createOtlpSink } from '../../src/pipeline/index.ts';
import { openRuntime } from '../../src/runtime.ts';
import { runCli } from '../support/cli.ts';
import { assertGolden } from '../support/golden.ts';
import { tempDir } from '../support/temp-dir.ts';

const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const HAIKU = 'global.anthropic.claude-haiku-4-5-20251001-v1:0';
const golden = (name: string) => join(import.meta.dirname, 'golden', name);
const tmp = tempDir();
const db = join(tmp.path, 'ledger.duckdb');
after(() => tmp.remove());

type Value = string | number;
const anyValue = (v: Value) =>
  typeof v === 'number'
    ? Number.isInteger(v)
      ? { intValue: v }
      : { doubleValue: v }
    : { stringValue: v };
const attributes = (o: Record<string, Value>) =>
  Object.entries(o).map(([key, v]) => ({ key, value: anyValue(v) }));
const nanos = (iso: string) => `${BigInt(Date.parse(iso)) * 1_000_000n}`;

interface Who {
  readonly email: string;
  readonly team: string;
  readonly session: string;
  readonly terminal: string;
}
const ANA: Who = {
  email: 'ana@example.com',
  team: 'search',
  session: 'sess-ana',
  terminal: 'vscode',
};
const BO: Who = { email: 'bo@example.com', team: 'ads', session: 'sess-bo', terminal: 'iTerm.app' };

const resource = (who: Who) => ({
  attributes: attributes({
    'service.name': 'claude-code',
    'service.version': '2.1.300',
    'user.email': who.email,
    team: who.team,
  }),
});

let sequence = 0;
function record(who: Who, name: string, at: string, prompt: string, fields: Record<string, Value>) {
  return {
    timeUnixNano: nanos(at),
    observedTimeUnixNano: nanos(at),
    body: { stringValue: `claude_code.${name}` },
    attributes: attributes({
      'user.id': `install-${who.session}`,
      'session.id': who.session,
      'terminal.type': who.terminal,
      'event.name': name,
      'event.timestamp': new Date(Date.parse(at)).toISOString(),
      'event.sequence': sequence++,
      'prompt.id': prompt,
      ...fields,
    }),
  };
}
const apiRequest = (
  who: Who,
  at: string,
  prompt: string,
  model: string,
  inp: number,
  out: number,
) =>
  record(who, 'api_request', at, prompt, {
    model,
    input_tokens: inp,
    output_tokens: out,
    cache_read_tokens: 0,
    cache_creation_tokens: 0,
    cost_usd: 0.01,
    duration_ms: 900,
    query_source: 'repl_main_thread',
  });
// tool events keep the all-string form even in recent versions (telemetry.md §2.3).
const toolResult = (who: Who, at: string, prompt: string, tool: string, ok: boolean, ms: number) =>
  record(who, 'tool_result', at, prompt, {
    tool_name: tool,
    success: String(ok),
    duration_ms: String(ms),
    decision_type: 'accept',
  });
const toolDecision = (
  who: Who,
  at: string,
  prompt: string,
  tool: string,
  decision: string,
  source: string,
) => record(who, 'tool_decision', at, prompt, { tool_name: tool, decision, source });

const logs = (who: Who, records: unknown[]) => ({
  resourceLogs: [
    {
      resource: resource(who),
      scopeLogs: [
        {
          scope: { name: 'com.anthropic.claude_code.events', version: '2.1.300' },
          logRecords: records,
        },
      ],
    },
  ],
});

function metrics(who: Who, at: string, points: { name: string; type?: string; value: number }[]) {
  return {
    resourceMetrics: [
      {
        resource: resource(who),
        scopeMetrics: [
          {
            scope: { name: 'com.anthropic.claude_code', version: '2.1.300' },
            metrics: points.map((p) => ({
              name: p.name,
              unit: p.name.endsWith('active_time.total') ? 's' : '',
              sum: {
                aggregationTemporality: 1,
                isMonotonic: true,
                dataPoints: [
                  {
                    attributes: attributes({
                      'user.id': `install-${who.session}`,
                      'session.id': who.session,
                      ...(p.type === undefined ? {} : { type: p.type }),
                    }),
                    startTimeUnixNano: nanos('2026-11-20T09:59:00Z'),
                    timeUnixNano: nanos(at),
                    asDouble: p.value,
                  },
                ],
              },
            })),
          },
        ],
      },
    ],
  };
}

before(async () => {
  const rt = await openRuntime({ db, configPath: undefined, env: {} });
  try {
    const sink = createOtlpSink(rt);
    const send = (signal: 'logs' | 'metrics', body: unknown) =>
      sink.accept({
        signal,
        encoding: 'json',
        body: new TextEncoder().encode(JSON.stringify(body)),
        headers: {},
        receivedAt: Date.parse('2026-11-20T12:00:00Z'),
      });
    await send(
      'logs',
      logs(ANA, [
        apiRequest(ANA, '2026-11-20T10:00:05Z', 'P1', SONNET, 1000, 100),
        toolDecision(ANA, '2026-11-20T10:00:06Z', 'P1', 'Read', 'accept', 'config'),
        toolResult(ANA, '2026-11-20T10:00:07Z', 'P1', 'Read', true, 120),
        toolDecision(ANA, '2026-11-20T10:00:08Z', 'P1', 'Edit', 'accept', 'user_temporary'),
        toolResult(ANA, '2026-11-20T10:00:09Z', 'P1', 'Edit', true, 80),
        toolDecision(ANA, '2026-11-20T10:00:10Z', 'P1', 'Bash', 'reject', 'user_reject'),
        apiRequest(ANA, '2026-11-20T10:05:00Z', 'P2', HAIKU, 1001, 0),
        toolDecision(ANA, '2026-11-20T10:05:00.500Z', 'P2', 'Grep', 'accept', 'config'),
        toolResult(ANA, '2026-11-20T10:05:01Z', 'P2', 'Grep', true, 40),
        toolResult(ANA, '2026-11-20T10:05:02Z', 'P2', 'Grep', true, 60),
        toolResult(ANA, '2026-11-20T10:05:03Z', 'P2', 'Read', false, 500),
        apiRequest(ANA, '2026-11-20T10:30:00Z', 'P3', SONNET, 10_000, 1000),
      ]),
    );
    await send(
      'logs',
      logs(BO, [
        apiRequest(BO, '2026-11-20T11:00:00Z', 'Q1', SONNET, 2000, 200),
        toolDecision(BO, '2026-11-20T11:00:00.500Z', 'Q1', 'Read', 'accept', 'user_permanent'),
        toolResult(BO, '2026-11-20T11:00:01Z', 'Q1', 'Read', true, 200),
      ]),
    );
    await send(
      'metrics',
      metrics(ANA, '2026-11-20T10:31:00Z', [
        { name: 'claude_code.commit.count', value: 2 },
        { name: 'claude_code.pull_request.count', value: 1 },
        { name: 'claude_code.active_time.total', type: 'user', value: 600 },
        { name: 'claude_code.active_time.total', type: 'cli', value: 300 },
      ]),
    );
    await send(
      'metrics',
      metrics(BO, '2026-11-20T11:01:00Z', [
        { name: 'claude_code.active_time.total', type: 'user', value: 120 },
      ]),
    );
  } finally {
    await rt.close();
  }
});

const cli = (...argv: string[]) =>
  runCli(argv, {
    env: { TOKENLEDGER_DB: db },
    cwd: tmp.path,
    now: Date.parse('2026-11-21T00:00:00Z'),
    placeholders: { [tmp.path]: '<tmp>' },
  });

describe('telemetry reports on the CLI', () => {
  test('sessions: active, idle, cost per commit, PR and active hour', async () => {
    const r = await cli('sessions', '--since', '2026-11-20');
    assert.equal(r.code, 0, r.err);
    assertGolden(golden('telemetry-sessions.txt'), r.out);
    const json = await cli('sessions', '--since', '2026-11-20', '--json');
    const [ana, bo] = JSON.parse(json.out);
    assert.deepEqual(
      [
        ana.sessionId,
        ana.costUsd,
        ana.commits,
        ana.costPerCommitUsd,
        ana.costPerPullRequestUsd,
        ana.costPerActiveHourUsd,
        ana.activeMs,
        ana.idleMs,
        ana.toolAccepts,
        ana.toolRejects,
      ],
      ['sess-ana', '0.055451', '2', '0.0277255', '0.055451', '0.221804', 900_000, 895_000, 3, 1],
    );
    assert.deepEqual(
      [bo.sessionId, bo.costUsd, bo.costPerCommitUsd, bo.costPerActiveHourUsd, bo.idleMs],
      ['sess-bo', '0.0099', null, '0.297', 0],
    );
  });

  test('sessions --user keeps one developer', async () => {
    const r = await cli('sessions', '--since', '2026-11-20', '--user', 'bo@example.com', '--json');
    assert.deepEqual(
      JSON.parse(r.out).map((s: { sessionId: string }) => s.sessionId),
      ['sess-bo'],
    );
  });

  test('sessions --by user: the per-developer rollup', async () => {
    const r = await cli('sessions', '--since', '2026-11-20', '--by', 'user');
    assert.equal(r.code, 0, r.err);
    assertGolden(golden('telemetry-users.txt'), r.out);
    const json = JSON.parse(
      (await cli('sessions', '--since', '2026-11-20', '--by', 'user', '--json')).out,
    );
    assert.deepEqual(
      json.map((u: Record<string, unknown>) => [
        u.user,
        u.sessions,
        u.costUsd,
        u.commits,
        u.pullRequests,
        u.activeMs,
        u.costPerCommitUsd,
        u.costPerActiveHourUsd,
        u.toolAcceptRate,
      ]),
      [
        ['ana@example.com', 1, '0.055451', '2', '1', 900_000, '0.0277255', '0.221804', 0.75],
        ['bo@example.com', 1, '0.0099', '0', '0', 120_000, null, '0.297', 1],
      ],
    );
  });

  test('tools: calls, success, durations, decisions and cost apportioned exactly', async () => {
    const r = await cli('tools', '--since', '2026-11-20');
    assert.equal(r.code, 0, r.err);
    assertGolden(golden('telemetry-tools.txt'), r.out);
    const tools = JSON.parse((await cli('tools', '--since', '2026-11-20', '--json')).out);
    assert.deepEqual(
      tools.map((t: Record<string, unknown>) => [t.tool, t.costUsd, t.calls, t.accepts, t.rejects]),
      [
        ['(no tool)', '0.0495', 0, 0, 0],
        ['Read', '0.012708666666', 3, 2, 0],
        ['Edit', '0.002475', 1, 1, 0],
        ['Grep', '0.000667333334', 2, 1, 0],
        ['Bash', '0.00', 0, 0, 1],
      ],
    );
    const read = tools.find((t: { tool: string }) => t.tool === 'Read');
    assert.equal(read.successRate, 2 / 3);
    assert.equal(read.acceptRate, 1);
    // Decisions by source add up to the accepts (the split itself is tested on stored rows in
    // src/store/duckdb/telemetry-report.test.ts).
    const sources = Object.values(read.bySource as Record<string, { accept: number }>);
    assert.equal(
      sources.reduce((a, c) => a + c.accept, 0),
      2,
    );
    const byUser = JSON.parse(
      (await cli('tools', '--since', '2026-11-20', '--by', 'tool,user', '--json')).out,
    );
    assert.deepEqual(
      byUser
        .filter((t: { tool: string }) => t.tool === 'Read')
        .map((t: Record<string, unknown>) => [t.user, t.costUsd]),
      [
        ['bo@example.com', '0.0099'],
        ['ana@example.com', '0.002808666666'],
      ],
    );
    assert.match(
      (await cli('tools', '--help')).out,
      /remainder goes one pico each to the earliest/,
    );
    // CSV: the JSON's fields as columns (the list the CSV uses is held to the JSON's keys), each decision source
    // as two columns.
    const csv = (await cli('tools', '--since', '2026-11-20', '--format', 'csv')).out
      .trimEnd()
      .split('\n');
    const { bySource: _, ...fields } = read as Record<string, unknown>;
    assert.deepEqual(
      TOOL_FIELDS.filter((f) => f !== 'user'),
      Object.keys(fields),
    );
    const allSources = [
      ...new Set(tools.flatMap((t: { bySource: object }) => Object.keys(t.bySource))),
    ] as string[];
    const header = (csv[0] ?? '').split(',');
    assert.deepEqual(header.slice(0, Object.keys(fields).length), Object.keys(fields));
    assert.deepEqual(
      header.slice(Object.keys(fields).length).sort(),
      allSources.flatMap((x) => [`${x}.accept`, `${x}.reject`]).sort(),
    );
    assert.equal(csv.length, 1 + tools.length);
    const readCells = (csv[2] ?? '').split(',');
    assert.deepEqual(
      [readCells[0], readCells[1], readCells[header.indexOf('costUsd')]],
      ['Read', '3', '0.012708666666'],
    );
    const accepted = header
      .map((h, k) => (h.endsWith('.accept') ? Number(readCells[k]) : 0))
      .reduce((a, b) => a + b, 0);
    assert.equal(accepted, read.accepts, 'the source columns add up to the accepts');
    assert.equal((await cli('tools', '--format', 'xml')).code, 2);
  });

  test('report --by tool runs over telemetry, in the report formats', async () => {
    const r = await cli('report', '--by', 'tool', '--since', '2026-11-20');
    assert.equal(r.code, 0, r.err);
    assertGolden(golden('telemetry-report-tool.txt'), r.out);
    const json = JSON.parse(
      (await cli('report', '--by', 'team,tool', '--since', '2026-11-20', '--format', 'json')).out,
    );
    assert.deepEqual(Object.keys(json[0]), [
      'team',
      'tool',
      'requests',
      'errors',
      'input_tokens',
      'output_tokens',
      'cache_read_tokens',
      'cache_write_tokens',
      'cost_usd',
      'unpriced_requests',
    ]);
    assert.deepEqual(
      json.map((row: Record<string, unknown>) => [row.team, row.tool, row.cost_usd]),
      [
        ['search', '(no tool)', '0.0495'],
        ['ads', 'Read', '0.0099'],
        ['search', 'Read', '0.002808666666'],
        ['search', 'Edit', '0.002475'],
        ['search', 'Grep', '0.000667333334'],
      ],
    );
    const csv = await cli(
      'report',
      '--by',
      'terminal',
      '--where',
      'user=ana@example.com',
      '--since',
      '2026-11-20',
      '--format',
      'csv',
    );
    assert.equal(
      csv.out,
      'terminal,requests,errors,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost_usd,unpriced_requests\n' +
        'vscode,3,0,12001,1100,0,0,0.055451,0\n',
    );
  });

  test('ledger-only dimensions with telemetry ones are refused clearly', async () => {
    const r = await cli('report', '--by', 'tool,account');
    assert.equal(r.code, 2);
    assert.match(r.err, /account is a ledger dimension .* and tool a telemetry one/);
    const billed = await cli('report', '--by', 'prompt', '--cost', 'billed');
    assert.equal(billed.code, 2);
    assert.match(billed.err, /--cost billed is for the ledger/);
  });
});
