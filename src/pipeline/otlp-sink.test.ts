/**
 * The same calls as invocation logs and as Claude Code api_request events count once, whichever arrives first:
 * an older Claude Code (no request id, the response body's model name) matched by fingerprint, a newer one by
 * request id, and a call no log covers counted client-only until its log arrives.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { tempDir } from '../../test/support/temp-dir.ts';
import { explainText } from '../cli/commands/explain.ts';
import { defaultCatalogDir, loadCatalogDir } from '../price/index.ts';
import { openRuntime, type Runtime } from '../runtime.ts';
import { ingest } from './ingest.ts';
import { bedrockModelIdOf, createOtlpSink } from './otlp-sink.ts';

const dir = tempDir();
after(() => dir.remove());

const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const HAIKU = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';

function logLine(id: string, at: string, model: string, t: number[]) {
  const [input = 0, output = 0, cacheRead = 0, cacheWrite = 0] = t;
  return JSON.stringify({
    schemaType: 'ModelInvocationLog',
    schemaVersion: '1.0',
    timestamp: at,
    accountId: '111122223333',
    region: 'us-east-1',
    requestId: id,
    operation: 'InvokeModelWithResponseStream',
    modelId: model,
    identity: { arn: 'arn:aws:sts::111122223333:assumed-role/Dev/claude-code' },
    input: {
      inputContentType: 'application/json',
      inputTokenCount: input,
      cacheReadInputTokenCount: cacheRead,
      cacheWriteInputTokenCount: cacheWrite,
    },
    output: { outputContentType: 'application/json', outputTokenCount: output },
  });
}

const LOG_LINES = [
  logLine('log-old', '2026-03-02T10:15:00Z', SONNET, [50, 400, 10_000, 3000]),
  logLine('log-new', '2026-03-02T10:16:00Z', SONNET, [60, 410, 10_000, 0]),
  logLine('log-only', '2026-03-02T10:40:00Z', HAIKU, [5, 5, 0, 0]),
  logLine('log-late', '2026-03-02T15:00:00Z', SONNET, [70, 420, 0, 0]),
];

type Attr = [string, string | number];
function apiRequest(session: string, at: string, attrs: Attr[]) {
  return {
    timeUnixNano: `${BigInt(Date.parse(at)) * 1_000_000n}`,
    body: { stringValue: 'claude_code.api_request' },
    attributes: [
      ['event.name', 'api_request'],
      ['session.id', session],
      ['event.sequence', 1],
      ...attrs,
    ].map(([key, v]) => ({
      key,
      value: typeof v === 'number' ? { intValue: v } : { stringValue: v },
    })),
  };
}
const tokens = (t: number[]): Attr[] =>
  ['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens'].map((k, i) => [
    k,
    t[i] ?? 0,
  ]);

/** Two OTLP/JSON log requests, as a Claude Code exporter would send them. */
const BATCHES = [
  [
    // An older version: no request id, `model` as the response body names it, stamped when the response ended.
    apiRequest('S-old', '2026-03-02T10:15:03Z', [
      ['model', 'claude-sonnet-4-5-20250929'],
      ['duration_ms', 2800],
      ...tokens([50, 400, 10_000, 3000]),
    ]),
    // A newer one: Bedrock's request id.
    apiRequest('S-new', '2026-03-02T10:16:02Z', [
      ['model', 'claude-sonnet-4-5-20250929'],
      ['request_id', 'log-new'],
      ...tokens([60, 410, 10_000, 0]),
    ]),
  ],
  [
    // 15:00's log is in the second ingest only: until then this call counts client-only.
    apiRequest('S-late', '2026-03-02T15:00:01Z', [
      ['model', SONNET],
      ['duration_ms', 900],
      ...tokens([70, 420, 0, 0]),
    ]),
  ],
];

function body(records: ReturnType<typeof apiRequest>[], resource: Record<string, string> = {}) {
  const kv = (key: string, value: string) => ({ key, value: { stringValue: value } });
  return new TextEncoder().encode(
    JSON.stringify({
      resourceLogs: [
        {
          resource: {
            attributes: [
              kv('service.name', 'claude-code'),
              kv('user.email', 'dev@example.com'),
              kv('team', 'platform'),
              ...Object.entries(resource).map(([k, v]) => kv(k, v)),
            ],
          },
          scopeLogs: [{ scope: { name: 'com.anthropic.claude_code.events' }, logRecords: records }],
        },
      ],
    }),
  );
}

let n = 0;
async function runtime(db = join(dir.path, `ledger-${n++}.duckdb`)): Promise<Runtime> {
  return openRuntime({ db, configPath: undefined, env: {} });
}
async function ingestLines(rt: Runtime, lines: string[]) {
  const file = join(dir.path, `logs-${n++}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  await ingest(rt, { paths: [file], format: 'auto', rejectsFile: join(dir.path, 'rejects.jsonl') });
}
async function receive(rt: Runtime, batch: number) {
  const records = BATCHES[batch];
  assert.ok(records);
  await createOtlpSink(rt).accept({
    signal: 'logs',
    encoding: 'json',
    body: body(records),
    headers: {},
    receivedAt: Date.parse('2026-03-02T16:00:00Z'),
  });
}
async function ledger(rt: Runtime) {
  const { rows, total } = await rt.store.queryUsage({
    groupBy: ['session', 'user', 'team', 'model'],
    where: [],
  });
  return {
    total: [total.requests, total.inputTokens, total.costPicos, total.unpricedRequests],
    rows: rows.map((r) => `${JSON.stringify(r.keys)} ${r.requests} ${r.costPicos}`).sort(),
  };
}
const total = async (rt: Runtime) => (await ledger(rt)).total;

test('logs then events and events then logs give one ledger, each call once, enriched', async () => {
  // Logs first (both ingests), then the two batches.
  const a = await runtime();
  await ingestLines(a, LOG_LINES.slice(0, 3));
  await ingestLines(a, LOG_LINES.slice(3));
  await receive(a, 0);
  await receive(a, 1);

  // Events first: every call client-only, then the logs take their place.
  const b = await runtime();
  await receive(b, 0);
  await receive(b, 1);
  assert.equal((await total(b))[0], 3);
  await ingestLines(b, LOG_LINES.slice(0, 3));
  // 15:00 has no log yet: that call still counts, client-only, beside the three logged calls.
  assert.equal((await total(b))[0], 4);
  const late = `otel:S-late|1|${BigInt(Date.parse('2026-03-02T15:00:01Z')) * 1_000_000n}|api_request`;
  assert.equal((await b.store.getRecord(late))?.source, 'telemetry');
  await ingestLines(b, LOG_LINES.slice(3));

  const [la, lb] = [await ledger(a), await ledger(b)];
  assert.deepEqual(lb, la);
  assert.equal(la.total[0], 4); // exactly the logged calls
  for (const rt of [a, b]) {
    // The user is the record's own (its IAM session name), kept; session and team come from telemetry.
    const record = async (id: string) => {
      const r = await rt.store.getRecord(id);
      return [r?.session, r?.user, r?.team, JSON.parse(String(r?.attribution)).session];
    };
    assert.deepEqual(await record('log-old'), [
      'S-old',
      'claude-code',
      'platform',
      'telemetry.session.id@fingerprint',
    ]);
    assert.deepEqual(await record('log-new'), [
      'S-new',
      'claude-code',
      'platform',
      'telemetry.session.id@request_id',
    ]);
    assert.deepEqual(await record('log-late'), [
      'S-late',
      'claude-code',
      'platform',
      'telemetry.session.id@fingerprint',
    ]);
    assert.equal((await record('log-only'))[0], 'unallocated');
    await rt.close();
  }
});

test('an event whose resource names its AWS account is covered only by that account’s records', async () => {
  const rt = await runtime();
  // Account 111122223333 logged Sonnet at 10:15 and 10:16.
  await ingestLines(rt, LOG_LINES.slice(0, 3));
  const call = (session: string) =>
    apiRequest(session, '2026-03-02T10:30:00Z', [['model', SONNET], ...tokens([1, 2, 0, 0])]);
  const send = (records: ReturnType<typeof apiRequest>[], resource?: Record<string, string>) =>
    createOtlpSink(rt).accept({
      signal: 'logs',
      encoding: 'json',
      body: body(records, resource),
      headers: {},
      receivedAt: Date.parse('2026-03-02T16:00:00Z'),
    });
  await send([call('S-other')], { 'cloud.account.id': '999988887777' });
  await send([call('S-same')], { 'cloud.account.id': '111122223333' });
  await send([call('S-none')]);
  const key = (session: string) =>
    `otel:${session}|1|${BigInt(Date.parse('2026-03-02T10:30:00Z')) * 1_000_000n}|api_request`;
  // Another account's call: no server-side source covers it, so it counts, in its own account.
  const other = await rt.store.getRecord(key('S-other'));
  assert.deepEqual([other?.source, other?.account], ['telemetry', '999988887777']);
  // The logging account's call, and a call that does not say (Claude Code): covered, not counted again.
  assert.equal(await rt.store.getRecord(key('S-same')), null);
  assert.equal(await rt.store.getRecord(key('S-none')), null);
  assert.equal((await total(rt))[0], 4);
  await rt.close();
});

test('Claude Code sessions that sent only metrics are counted, so `sessions` can say why it does not list them', async () => {
  const rt = await runtime();
  try {
    const testdata = join(import.meta.dirname, '../sources/otlp/testdata/claude-code');
    await createOtlpSink(rt).accept({
      signal: 'metrics',
      encoding: 'json',
      body: readFileSync(join(testdata, 'metrics-delta-2.1.138.json')),
      headers: {},
      receivedAt: Date.now(),
    });
    assert.equal(await rt.store.telemetry.metricOnlySessions(0, Date.now() + 86_400_000), 1);
    assert.equal(await rt.store.telemetry.metricOnlySessions(0, 1), 0, 'outside the range');
    assert.deepEqual(await rt.store.telemetry.sessions(0, Date.now() + 86_400_000, 10), []);
  } finally {
    await rt.close();
  }
});

describe('what the sink keeps and how it prices', () => {
  const at = (iso: string) => `${BigInt(Date.parse(iso)) * 1_000_000n}`;
  const kv = (key: string, v: string | number) => ({
    key,
    value: typeof v === 'number' ? { intValue: v } : { stringValue: v },
  });
  const resource = {
    attributes: [kv('service.name', 'claude-code'), kv('user.email', 'ana@example.com')],
  };
  const send = (rt: Runtime, signal: 'logs' | 'metrics', payload: unknown) =>
    createOtlpSink(rt).accept({
      signal,
      encoding: 'json',
      body: new TextEncoder().encode(JSON.stringify(payload)),
      headers: {},
      receivedAt: Date.parse('2026-11-20T12:00:00Z'),
    });
  const event = (
    name: string,
    iso: string,
    sequence: number,
    attrs: [string, string | number][],
  ) => ({
    timeUnixNano: at(iso),
    body: { stringValue: `claude_code.${name}` },
    attributes: [
      kv('event.name', name),
      kv('session.id', 'S1'),
      kv('prompt.id', 'P1'),
      kv('event.sequence', sequence),
      ...attrs.map(([k, v]) => kv(k, v)),
    ],
  });
  const logs = (records: unknown[], res: { attributes: unknown[] } = resource) => ({
    resourceLogs: [
      {
        resource: res,
        scopeLogs: [{ scope: { name: 'com.anthropic.claude_code.events' }, logRecords: records }],
      },
    ],
  });
  const RANGE = {
    from: Date.parse('2026-11-20T00:00:00Z'),
    to: Date.parse('2026-11-21T00:00:00Z'),
  };

  test('tool_decision keeps its source: decisions by source, not (unknown)', async () => {
    const rt = await runtime();
    try {
      await send(
        rt,
        'logs',
        logs([
          event('tool_decision', '2026-11-20T10:00:01Z', 1, [
            ['tool_name', 'Edit'],
            ['decision', 'accept'],
            ['source', 'user_temporary'],
            ['tool_source', 'builtin'],
          ]),
          event('tool_decision', '2026-11-20T10:00:02Z', 2, [
            ['tool_name', 'Edit'],
            ['decision', 'reject'],
            ['source', 'user_reject'],
          ]),
          event('tool_decision', '2026-11-20T10:00:03Z', 3, [
            ['tool_name', 'Edit'],
            ['decision', 'accept'],
          ]),
        ]),
      );
      const tools = await rt.store.telemetry.telemetryReport({
        kind: 'tools',
        byUser: false,
        ...RANGE,
      });
      const edit = tools.find((t) => t.tool === 'Edit');
      assert.deepEqual(edit?.bySource, {
        user_temporary: { accept: 1, reject: 0 },
        user_reject: { accept: 0, reject: 1 },
        '(unknown)': { accept: 1, reject: 0 },
      });
    } finally {
      await rt.close();
    }
  });

  test('Bedrock mode: the person is enduser.id from the resource, not the anonymous install user.id', async () => {
    const rt = await runtime();
    try {
      // As Claude Code sends it with CLAUDE_CODE_USE_BEDROCK=1 and OTEL_RESOURCE_ATTRIBUTES=enduser.id=…: every record
      // carries the install id as user.id; the admin's identity is only in the resource.
      const record = event('api_request', '2026-11-20T10:00:01Z', 1, [
        ['user.id', 'c4ac972b16db5d5e8f07f1b2a0f3e9d1c4ac972b16db5d5e8f07f1b2a0f3e9d1'],
        ['model', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'],
        ['input_tokens', 100],
        ['output_tokens', 10],
      ]);
      await send(
        rt,
        'logs',
        logs([record], {
          attributes: [kv('service.name', 'claude-code'), kv('enduser.id', 'jdoe@example.com')],
        }),
      );
      const users = await rt.store.telemetry.telemetryReport({ kind: 'users', ...RANGE });
      assert.deepEqual(
        users.map((u) => u.user),
        ['jdoe@example.com'],
      );
    } finally {
      await rt.close();
    }
  });

  test('code_edit_tool.decision points keep their attributes: report --by language through the sink', async () => {
    const rt = await runtime();
    try {
      const point = (
        language: string,
        decision: string,
        tool: string,
        value: number,
        i: number,
      ) => ({
        attributes: [
          kv('session.id', 'S1'),
          kv('tool_name', tool),
          kv('decision', decision),
          kv('source', 'config'),
          kv('language', language),
        ],
        startTimeUnixNano: at('2026-11-20T10:00:00Z'),
        timeUnixNano: at(`2026-11-20T10:0${i}:00Z`),
        asDouble: value,
      });
      await send(rt, 'metrics', {
        resourceMetrics: [
          {
            resource,
            scopeMetrics: [
              {
                scope: { name: 'com.anthropic.claude_code' },
                metrics: [
                  {
                    name: 'claude_code.code_edit_tool.decision',
                    sum: {
                      aggregationTemporality: 1,
                      isMonotonic: true,
                      dataPoints: [
                        point('TypeScript', 'accept', 'Edit', 3, 1),
                        point('TypeScript', 'reject', 'Write', 1, 2),
                        point('Python', 'accept', 'Edit', 2, 3),
                      ],
                    },
                  },
                ],
              },
            ],
          },
        ],
      });
      const usage = await rt.store.telemetry.telemetryReport({
        kind: 'usage',
        groupBy: ['language'],
        where: [],
        since: RANGE.from,
        until: RANGE.to,
      });
      assert.ok(usage.measure === 'edit_decisions');
      assert.deepEqual(
        usage.rows.map((r) => [r.keys.language, r.decisions, r.accepts, r.rejects]),
        [
          ['TypeScript', 4n, 3n, 1n],
          ['Python', 2n, 2n, 0n],
        ],
      );
    } finally {
      await rt.close();
    }
  });

  test('a Claude Code cumulative counter across a receiver restart counts its increase once', async () => {
    const decisions = (minute: number, value: number) => ({
      resourceMetrics: [
        {
          resource,
          scopeMetrics: [
            {
              scope: { name: 'com.anthropic.claude_code' },
              metrics: [
                {
                  name: 'claude_code.code_edit_tool.decision',
                  sum: {
                    aggregationTemporality: 2,
                    isMonotonic: true,
                    dataPoints: [
                      {
                        attributes: [
                          kv('session.id', 'S1'),
                          kv('tool_name', 'Edit'),
                          kv('decision', 'accept'),
                          kv('language', 'Go'),
                        ],
                        startTimeUnixNano: at('2026-11-20T10:00:00Z'),
                        timeUnixNano: at(`2026-11-20T10:0${minute}:00Z`),
                        asDouble: value,
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    });
    const db = join(dir.path, `ledger-${n++}.duckdb`);
    const go = async (rt: Runtime) => {
      const usage = await rt.store.telemetry.telemetryReport({
        kind: 'usage',
        groupBy: ['language'],
        where: [],
        since: RANGE.from,
        until: RANGE.to,
      });
      assert.ok(usage.measure === 'edit_decisions');
      return usage.rows.map((r) => [r.keys.language, r.decisions]);
    };
    let rt = await runtime(db);
    try {
      await send(rt, 'metrics', decisions(1, 3));
      await rt.close();
      rt = await runtime(db);
      await send(rt, 'metrics', decisions(2, 5));
      await send(rt, 'metrics', decisions(2, 5));
      assert.deepEqual(await go(rt), [['Go', 5n]]);
    } finally {
      await rt.close();
    }
  });

  test('a response-body model name is priced as its Bedrock model, in-Region standard', async () => {
    const rt = await runtime();
    try {
      const request = (sequence: number, model: string) =>
        event('api_request', `2026-11-20T10:0${sequence}:00Z`, sequence, [
          ['model', model],
          ...tokens([1000, 100, 0, 0]),
        ]);
      await send(
        rt,
        'logs',
        logs([
          request(1, 'claude-opus-4-5-20251101'),
          request(2, 'anthropic.claude-opus-4-5-20251101-v1:0'),
          request(3, 'claude-opus-9-9-20991231'),
        ]),
      );
      const usage = await rt.store.telemetry.telemetryReport({
        kind: 'usage',
        groupBy: ['model'],
        where: [],
        since: RANGE.from,
        until: RANGE.to,
      });
      assert.ok(usage.measure === 'requests');
      // Opus 4.5 in-Region: $5.00 / $25.00 per 1M × 1.10 → 1,000 × 5,500,000 + 100 × 27,500,000 pico-USD.
      assert.deepEqual(
        usage.rows.map((r) => [r.keys.model, r.requests, r.costPicos, r.unpricedRequests]),
        [
          ['anthropic.claude-opus-4-5-20251101-v1:0', 2, 2n * 8_250_000_000n, 0],
          ['claude-opus-9-9-20991231', 1, 0n, 1],
        ],
      );
      // Client-only (no log): the ledger row is priced too, its model the Bedrock one.
      const key = `otel:S1|1|${at('2026-11-20T10:01:00Z')}|api_request`;
      const row = await rt.store.getRecord(key);
      assert.deepEqual(
        [row?.source, row?.model, row?.scope, row?.tier, row?.cost_pusd],
        [
          'telemetry',
          'anthropic.claude-opus-4-5-20251101-v1:0',
          'in-region',
          'standard',
          8_250_000_000n,
        ],
      );
      assert.match(
        explainText(row ?? {}, rt.catalog),
        /source\s+client-only telemetry event \(no invocation log or gateway record of this call\)/,
      );
      // A client-only row of a gen_ai.client.token.usage interval stands for the calls it counted, not one event.
      assert.match(
        explainText({ ...row, request_id: 'otel:metric:0f3a' }, rt.catalog),
        /source\s+client-only telemetry: one interval of a gen_ai\.client\.token\.usage stream/,
      );
    } finally {
      await rt.close();
    }
  });
});

describe('bedrockModelIdOf', () => {
  const catalog = loadCatalogDir(defaultCatalogDir());
  test('maps a response-body name to the one catalog model it names', () => {
    assert.equal(
      bedrockModelIdOf('claude-sonnet-4-5-20250929', catalog),
      'anthropic.claude-sonnet-4-5-20250929-v1:0',
    );
    assert.equal(bedrockModelIdOf('claude-opus-4-6', catalog), 'anthropic.claude-opus-4-6-v1');
    assert.equal(bedrockModelIdOf('claude-sonnet-4-6', catalog), 'anthropic.claude-sonnet-4-6');
    assert.equal(
      bedrockModelIdOf('claude-3-5-sonnet-20241022', catalog),
      'anthropic.claude-3-5-sonnet-20241022-v2:0',
    );
    // A dated name of a model the catalog lists undated.
    assert.equal(
      bedrockModelIdOf('claude-opus-4-7-20260416', catalog),
      'anthropic.claude-opus-4-7',
    );
  });
  test('leaves Bedrock ids, profiles, ARNs, unknown and ambiguous names alone', () => {
    for (const name of [
      'anthropic.claude-sonnet-4-5-20250929-v1:0',
      'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
      'claude-sonnet-9-9',
      // Another release date than the catalog's: another release, not guessed.
      'claude-sonnet-4-5-20991231',
      // Two releases of Claude 3.5 Sonnet: which one is not said.
      'claude-3-5-sonnet',
      'gpt-4o',
    ])
      assert.equal(bedrockModelIdOf(name, catalog), null, name);
  });
  test('ambiguity is judged on the catalog given', () => {
    const twice = {
      ...catalog,
      entries: [
        ...catalog.entries,
        ...catalog.entries
          .filter((e) => e.entry.models.includes('anthropic.claude-opus-4-6-v1'))
          .map((e) => ({
            ...e,
            entry: { ...e.entry, models: ['anthropic.claude-opus-4-6-v2:0'] },
          })),
      ],
    };
    assert.equal(bedrockModelIdOf('claude-opus-4-6', twice), null);
    assert.equal(bedrockModelIdOf('claude-opus-4-6', catalog), 'anthropic.claude-opus-4-6-v1');
  });
});

describe('gen_ai.client.token.usage: an app that exports only the histogram', () => {
  const S = Date.parse('2026-11-20T10:00:00Z');
  const nanos = (ms: number) => `${BigInt(ms) * 1_000_000n}`;
  const kv = (key: string, value: string) => ({ key, value: { stringValue: value } });
  const HAIKU_US = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';
  const SONNET_US = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
  interface Point {
    readonly type: 'input' | 'output';
    readonly sum: number;
    readonly count: number;
  }
  /** One export of the histogram: `temporality` 1 = DELTA, 2 = CUMULATIVE; times in seconds after S. */
  function histogram(
    app: { service: string; team: string; model: string },
    temporality: 1 | 2,
    [from, to]: [number, number],
    points: Point[],
  ) {
    return {
      resourceMetrics: [
        {
          resource: { attributes: [kv('service.name', app.service), kv('team', app.team)] },
          scopeMetrics: [
            {
              scope: { name: `${app.service}.genai`, version: '1.0.0' },
              metrics: [
                {
                  name: 'gen_ai.client.token.usage',
                  unit: '{token}',
                  histogram: {
                    aggregationTemporality: temporality,
                    dataPoints: points.map((p) => ({
                      attributes: [
                        kv('gen_ai.operation.name', 'chat'),
                        kv('gen_ai.provider.name', 'aws.bedrock'),
                        kv('gen_ai.request.model', app.model),
                        kv('gen_ai.token.type', p.type),
                      ],
                      // The SDKs start each series at its first measurement: output a moment after input.
                      startTimeUnixNano: nanos(S + from * 1000 + (p.type === 'output' ? 3 : 0)),
                      timeUnixNano: nanos(S + to * 1000),
                      count: String(p.count),
                      sum: p.sum,
                    })),
                  },
                },
                // Another GenAI metric in the same export: not token usage, ignored.
                {
                  name: 'gen_ai.client.operation.duration',
                  unit: 's',
                  histogram: {
                    aggregationTemporality: temporality,
                    dataPoints: [
                      {
                        attributes: [kv('gen_ai.request.model', app.model)],
                        startTimeUnixNano: nanos(S + from * 1000),
                        timeUnixNano: nanos(S + to * 1000),
                        count: '1',
                        sum: 1.5,
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
  }
  /** A GenAI span of the app (`at` seconds after S, lasting 2 s). */
  function spans(app: { service: string; model: string }, calls: [number, number, number][]) {
    return {
      resourceSpans: [
        {
          resource: { attributes: [kv('service.name', app.service), kv('team', 'support')] },
          scopeSpans: [
            {
              scope: { name: `${app.service}.genai` },
              spans: calls.map(([at, input, output], i) => ({
                traceId: `${'ab'.repeat(15)}${String(app.service.length).padStart(2, '0')}`,
                spanId: `${'cd'.repeat(7)}${String(i).padStart(2, '0')}`,
                name: `chat ${app.model}`,
                kind: 3,
                startTimeUnixNano: nanos(S + at * 1000),
                endTimeUnixNano: nanos(S + at * 1000 + 2000),
                attributes: [
                  kv('gen_ai.operation.name', 'chat'),
                  kv('gen_ai.provider.name', 'aws.bedrock'),
                  kv('gen_ai.request.model', app.model),
                  { key: 'gen_ai.usage.input_tokens', value: { intValue: input } },
                  { key: 'gen_ai.usage.output_tokens', value: { intValue: output } },
                ],
              })),
            },
          ],
        },
      ],
    };
  }
  const TRIAGE = { service: 'ticket-triage', team: 'support', model: HAIKU_US };
  const SUMMARISER = { service: 'batch-summariser', team: 'docs', model: SONNET_US };
  // Haiku 4.5 and Sonnet 4.5 through a us. profile: list price + 10 %, in pico-USD per token.
  const HAIKU = { input: 1_100_000n, output: 5_500_000n };
  const SONNET = { input: 3_300_000n, output: 16_500_000n };

  type Sink = ReturnType<typeof createOtlpSink>;
  const send = (sink: Sink, signal: 'metrics' | 'traces', payload: unknown) =>
    sink.accept({
      signal,
      encoding: 'json',
      body: new TextEncoder().encode(JSON.stringify(payload)),
      headers: {},
      receivedAt: S + 3_600_000,
    });
  const byModel = async (rt: Runtime) => {
    const usage = await rt.store.telemetry.telemetryReport({
      kind: 'usage',
      groupBy: ['model', 'team'],
      where: [],
      since: S - 3_600_000,
      until: S + 3_600_000,
    });
    assert.ok(usage.measure === 'requests');
    const row = (r: (typeof usage.rows)[number]) => [
      ...Object.values(r.keys),
      r.requests,
      r.inputTokens,
      r.outputTokens,
      r.costPicos,
      r.unpricedRequests,
    ];
    return { rows: usage.rows.map(row), total: row(usage.total) };
  };
  const ledger = async (rt: Runtime) => {
    const { rows, total } = await rt.store.queryUsage({ groupBy: ['team', 'model'], where: [] });
    const row = (r: (typeof rows)[number]) => [
      ...Object.values(r.keys),
      r.inputTokens,
      r.outputTokens,
      r.costPicos,
    ];
    return { rows: rows.map(row), total: row(total) };
  };

  test('points it cannot take are told to the exporter as a partial success; the rest is stored', async () => {
    const rt = await runtime();
    try {
      const sink = createOtlpSink(rt);
      const payload = histogram(
        TRIAGE,
        1,
        [0, 60],
        [
          { type: 'input', sum: 1000.5, count: 1 },
          { type: 'output', sum: 40, count: 1 },
        ],
      );
      // A Claude Code counter sent as a gauge of three points: none of them can be read.
      const metrics = payload.resourceMetrics[0]?.scopeMetrics[0]?.metrics as unknown[];
      metrics.push({
        name: 'claude_code.token.usage',
        unit: 'tokens',
        gauge: {
          dataPoints: [1, 2, 3].map((i) => ({
            attributes: [kv('type', 'input')],
            timeUnixNano: nanos(S + i * 1000),
            asInt: '10',
          })),
        },
      });
      const result = await send(sink, 'metrics', payload);
      assert.equal(result.rejected, 4);
      assert.match(result.message ?? '', /token sum 1000\.5 is not a token count/);
      assert.match(result.message ?? '', /claude_code\.token\.usage: gauge data, expected a sum/);
      // The output point was good: it is stored.
      assert.deepEqual((await byModel(rt)).total.slice(1, 3), [0n, 40n]);
      // An export with nothing refused is a plain success.
      const clean = await send(
        sink,
        'metrics',
        histogram(TRIAGE, 1, [60, 120], [{ type: 'input', sum: 7, count: 1 }]),
      );
      assert.deepEqual(clean, { rejected: 0 });
    } finally {
      await rt.close();
    }
  });

  test('cumulative re-exports and a retry, and a delta app: tokens by model and team, priced, once', async () => {
    const rt = await runtime();
    try {
      const sink = createOtlpSink(rt);
      // Cumulative (the OTel SDKs' default): running totals from the process start S.
      await send(
        sink,
        'metrics',
        histogram(
          TRIAGE,
          2,
          [0, 60],
          [
            { type: 'input', sum: 3000, count: 2 },
            { type: 'output', sum: 250, count: 2 },
          ],
        ),
      );
      const second = histogram(
        TRIAGE,
        2,
        [0, 120],
        [
          { type: 'input', sum: 7000, count: 3 },
          { type: 'output', sum: 550, count: 3 },
        ],
      );
      await send(sink, 'metrics', second);
      await send(sink, 'metrics', second); // an exporter's retry
      // Delta: each export is the increase; the same export twice is one.
      const delta = histogram(
        SUMMARISER,
        1,
        [0, 60],
        [
          { type: 'input', sum: 200, count: 2 },
          { type: 'output', sum: 30, count: 2 },
        ],
      );
      await send(sink, 'metrics', delta);
      await send(createOtlpSink(rt), 'metrics', delta);

      const triageCost = 7000n * HAIKU.input + 550n * HAIKU.output;
      const summariserCost = 200n * SONNET.input + 30n * SONNET.output;
      assert.deepEqual(await byModel(rt), {
        rows: [
          ['anthropic.claude-haiku-4-5-20251001-v1:0', 'support', 3, 7000n, 550n, triageCost, 0],
          ['anthropic.claude-sonnet-4-5-20250929-v1:0', 'docs', 2, 200n, 30n, summariserCost, 0],
        ],
        total: [5, 7200n, 580n, triageCost + summariserCost, 0],
      });
      // No invocation log covers these calls: they count in the ledger, client-only, priced the same.
      assert.deepEqual(await ledger(rt), {
        rows: [
          ['support', 'anthropic.claude-haiku-4-5-20251001-v1:0', 7000n, 550n, triageCost],
          ['docs', 'anthropic.claude-sonnet-4-5-20250929-v1:0', 200n, 30n, summariserCost],
        ],
        total: [7200n, 580n, triageCost + summariserCost],
      });
    } finally {
      await rt.close();
    }
  });

  test('with spans for the same calls each call counts once, whichever arrives first', async () => {
    const results = [];
    for (const order of ['metrics first', 'spans first'] as const) {
      const rt = await runtime();
      try {
        const sink = createOtlpSink(rt);
        // The first minute's two calls are traced; the second minute's call is not (no span covers it).
        const metrics = async () => {
          await send(
            sink,
            'metrics',
            histogram(
              TRIAGE,
              2,
              [0, 60],
              [
                { type: 'input', sum: 3000, count: 2 },
                { type: 'output', sum: 250, count: 2 },
              ],
            ),
          );
          await send(
            sink,
            'metrics',
            histogram(
              TRIAGE,
              2,
              [0, 120],
              [
                { type: 'input', sum: 7000, count: 3 },
                { type: 'output', sum: 550, count: 3 },
              ],
            ),
          );
        };
        const traced = () =>
          send(
            sink,
            'traces',
            spans(TRIAGE, [
              [10, 1000, 100],
              [30, 2000, 150],
            ]),
          );
        // Another service's span in the same minute and model covers nothing of this app.
        const other = () =>
          send(sink, 'traces', spans({ ...TRIAGE, service: 'other-app' }, [[70, 5, 5]]));
        if (order === 'metrics first') {
          await metrics();
          await traced();
          await other();
        } else {
          await other();
          await traced();
          await metrics();
        }
        results.push({ telemetry: await byModel(rt), ledger: await ledger(rt) });
      } finally {
        await rt.close();
      }
    }
    const [first, second] = results;
    assert.deepEqual(second, first);
    const cost = (input: bigint, output: bigint) => input * HAIKU.input + output * HAIKU.output;
    // Two spans (3,000 / 250) + the untraced minute from the metric (4,000 / 300) + the other app's span.
    assert.deepEqual(first?.telemetry.total, [
      4,
      7005n,
      555n,
      cost(3000n, 250n) + cost(4000n, 300n) + cost(5n, 5n),
      0,
    ]);
    assert.deepEqual(first?.ledger.total, [
      7005n,
      555n,
      cost(3000n, 250n) + cost(4000n, 300n) + cost(5n, 5n),
    ]);
  });

  const export1 = histogram(
    TRIAGE,
    2,
    [0, 60],
    [
      { type: 'input', sum: 3000, count: 2 },
      { type: 'output', sum: 250, count: 2 },
    ],
  );
  const export2 = histogram(
    TRIAGE,
    2,
    [0, 120],
    [
      { type: 'input', sum: 7000, count: 3 },
      { type: 'output', sum: 550, count: 3 },
    ],
  );
  const triage = (requests: number, input: bigint, output: bigint) => [
    'anthropic.claude-haiku-4-5-20251001-v1:0',
    'support',
    requests,
    input,
    output,
    input * HAIKU.input + output * HAIKU.output,
    0,
  ];

  test('a receiver restart continues each cumulative stream: only the increase counts; an app restart counts in full', async () => {
    const db = join(dir.path, `ledger-${n++}.duckdb`);
    let rt = await runtime(db);
    try {
      await send(createOtlpSink(rt), 'metrics', export1);
      await rt.close();
      // `tokenledger collect` restarted on the same ledger: the app's next export is its running total.
      rt = await runtime(db);
      await send(createOtlpSink(rt), 'metrics', export2);
      assert.deepEqual((await byModel(rt)).total, triage(3, 7000n, 550n).slice(2));
      await rt.close();
      // The app restarted (a new start time): its new stream counts from zero, everything in it.
      rt = await runtime(db);
      const sink = createOtlpSink(rt);
      const restarted = histogram(
        TRIAGE,
        2,
        [200, 260],
        [
          { type: 'input', sum: 1000, count: 1 },
          { type: 'output', sum: 100, count: 1 },
        ],
      );
      await send(sink, 'metrics', restarted);
      await send(sink, 'metrics', export2); // a late re-export of the old stream: nothing new
      await rt.close();
      rt = await runtime(db);
      await send(createOtlpSink(rt), 'metrics', restarted); // and again after a restart
      assert.deepEqual((await byModel(rt)).rows, [triage(4, 8000n, 650n)]);
    } finally {
      await rt.close();
    }
  });

  test('a failed write moves nothing: the retry counts the increase once', async () => {
    const rt = await runtime();
    try {
      let failures = 1;
      const telemetry = rt.store.telemetry;
      const flaky: typeof telemetry = {
        ...telemetry,
        write: (events, metrics, streams) => {
          if (failures-- > 0) return Promise.reject(new Error('disk full'));
          return telemetry.write(events, metrics, streams);
        },
      };
      const sink = createOtlpSink({ ...rt, store: { ...rt.store, telemetry: flaky } });
      await send(createOtlpSink(rt), 'metrics', export1);
      await assert.rejects(send(sink, 'metrics', export2), {
        code: 'store.write_failed',
        retryable: true,
      });
      await send(sink, 'metrics', export2); // the exporter's retry
      await send(sink, 'metrics', export2);
      assert.deepEqual((await byModel(rt)).rows, [triage(3, 7000n, 550n)]);
    } finally {
      await rt.close();
    }
  });

  test('requests that arrive while a match runs share the next one, over their union', async () => {
    const rt = await runtime();
    try {
      const telemetry = rt.store.telemetry;
      const scopes: { fromMs: number; toMs: number }[] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let written = 0;
      const counting: typeof telemetry = {
        ...telemetry,
        write: async (events, metrics, streams) => {
          const r = await telemetry.write(events, metrics, streams);
          written++;
          return r;
        },
        enrich: async (scope) => {
          if (scope !== undefined) scopes.push(scope);
          if (scopes.length === 1) await gate; // the first match is slow
          return telemetry.enrich(scope);
        },
      };
      const sink = createOtlpSink({ ...rt, store: { ...rt.store, telemetry: counting } });
      const at = (minute: number) => `2026-03-02T10:${String(minute).padStart(2, '0')}:00Z`;
      const accept = (minute: number) =>
        sink.accept({
          signal: 'logs',
          encoding: 'json',
          body: body([apiRequest(`s-${minute}`, at(minute), tokens([100, 10, 0, 0]))]),
          headers: {},
          receivedAt: Date.parse('2026-03-02T16:00:00Z'),
        });
      let settled = 0;
      const first = accept(10).then(() => settled++);
      while (scopes.length === 0) await new Promise((r) => setTimeout(r, 5));
      // Three more while the first match runs: they wait for one match of their own, not three.
      const rest = [20, 30, 40].map((m) => accept(m).then(() => settled++));
      // Their events are written and they wait: none is answered before the match that covers it.
      while (written < 4) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(settled, 0, 'no request is answered before the match that covers it');
      release();
      await Promise.all([first, ...rest]);
      assert.deepEqual(scopes, [
        { fromMs: Date.parse(at(10)), toMs: Date.parse(at(10)) },
        { fromMs: Date.parse(at(20)), toMs: Date.parse(at(40)) },
      ]);
      const sessions = await rt.store.telemetry.sessions(0, Date.UTC(2027, 0, 1), 100);
      assert.equal(sessions.length, 4);
    } finally {
      await rt.close();
    }
  });
});
