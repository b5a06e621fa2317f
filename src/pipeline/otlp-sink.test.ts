/**
 * The same calls as invocation logs and as Claude Code api_request events count once, whichever arrives first:
 * an older Claude Code (no request id, the response body's model name) matched by fingerprint, a newer one by
 * request id, and a call no log covers counted client-only until its log arrives.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
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

function body(records: ReturnType<typeof apiRequest>[]) {
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
            ],
          },
          scopeLogs: [{ scope: { name: 'com.anthropic.claude_code.events' }, logRecords: records }],
        },
      ],
    }),
  );
}

let n = 0;
async function runtime(): Promise<Runtime> {
  return openRuntime({
    db: join(dir.path, `ledger-${n++}.duckdb`),
    configPath: undefined,
    env: {},
  });
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
  const logs = (records: unknown[]) => ({
    resourceLogs: [
      {
        resource,
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
