/**
 * `tokenledger collect` end to end: the real OpenTelemetry JS exporters (JSON and protobuf) send Claude Code-shaped
 * events and metrics to a running receiver; `sessions` shows per-session and per-user dollars recomputed from the
 * tokens with the catalog; an exporter retry is stored once; a malformed body gets 400 and the next request works.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { runReport } from '../../src/analyse/index.ts';
import { type Collector, startCollector } from '../../src/cli/commands/collect.ts';
import { ingest } from '../../src/pipeline/index.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { tempDir } from '../support/temp-dir.ts';

const tmp = tempDir();
let rt: Runtime;
let collector: Collector;
before(async () => {
  rt = await openRuntime({ db: join(tmp.path, 'ledger.duckdb'), configPath: undefined, env: {} });
  collector = await startCollector(rt, { port: 0, host: '127.0.0.1' });
});
after(async () => {
  await collector.close();
  await rt.close();
  tmp.remove();
});

const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
/** Bedrock session: identity only in OTEL_RESOURCE_ATTRIBUTES (resource attributes), or none (null). */
const resource = (email: string | null) =>
  resourceFromAttributes({
    'service.name': 'claude-code',
    'service.version': '2.1.328',
    ...(email === null ? {} : { 'user.email': email }),
    team: 'search',
  });

function request(session: string, sequence: number, input: number, output: number) {
  return {
    body: 'claude_code.api_request',
    attributes: {
      'event.name': 'api_request',
      'event.timestamp': new Date(Date.UTC(2026, 10, 20, 10, sequence)).toISOString(),
      'event.sequence': sequence,
      'session.id': session,
      'prompt.id': `p-${session}`,
      'terminal.type': 'vscode',
      model: SONNET,
      input_tokens: input,
      output_tokens: output,
      cache_read_tokens: 0,
      cache_creation_tokens: 0,
      cost_usd: 0.01,
      duration_ms: 1200,
    },
  };
}

async function sendLogs(
  json: boolean,
  email: string | null,
  records: ReturnType<typeof request>[],
) {
  const config = { url: `${collector.url}/v1/logs` };
  const exporter = json ? new JsonLogExporter(config) : new ProtoLogExporter(config);
  const provider = new LoggerProvider({
    resource: resource(email),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('com.anthropic.claude_code.events', '2.1.328');
  for (const r of records)
    logger.emit({ ...r, timestamp: Date.parse(r.attributes['event.timestamp']) });
  await provider.forceFlush();
  await provider.shutdown();
}

test('Claude Code events over JSON and protobuf become per-session, per-user dollars', async () => {
  // Session A (JSON): 2 requests of 1,000 in / 500 out at Sonnet 4.5 us. (3.30 / 16.50 per 1M): 0.01155 each.
  await sendLogs(true, 'ana@example.com', [request('A', 1, 1000, 500), request('A', 2, 1000, 500)]);
  // Session B (protobuf): 1 request of 10,000 in / 1,000 out: 0.033 + 0.0165 = 0.0495.
  await sendLogs(false, 'bo@example.com', [request('B', 1, 10_000, 1000)]);
  // An exporter retry of the same event (same session, sequence, time) is stored once.
  await sendLogs(true, 'ana@example.com', [request('A', 2, 1000, 500)]);

  const metricExporter = new ProtoMetricExporter({
    url: `${collector.url}/v1/metrics`,
    temporalityPreference: AggregationTemporality.DELTA,
  });
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  const meters = new MeterProvider({ resource: resource('ana@example.com'), readers: [reader] });
  meters
    .getMeter('com.anthropic.claude_code', '2.1.328')
    .createCounter('claude_code.commit.count')
    .add(2, { 'session.id': 'A', 'user.email': 'ana@example.com' });
  await meters.forceFlush();
  await meters.shutdown();

  const sessions = await rt.store.telemetry.sessions(
    // Events carry their own times; the SDK stamps metrics with the real clock.
    Date.parse('2026-11-20T00:00:00Z'),
    Date.now() + 86_400_000,
    10,
  );
  assert.deepEqual(
    sessions.map((s) => [s.sessionId, s.user, s.requests, s.tokens, s.costPicos, s.commits]),
    [
      ['B', 'bo@example.com', 1, 11_000n, 49_500_000_000n, 0n],
      ['A', 'ana@example.com', 2, 3_000n, 23_100_000_000n, 2n],
    ],
  );
  assert.equal(
    sessions.find((s) => s.sessionId === 'A')?.costReportedUsd?.startsWith('0.02'),
    true,
  );
});

test('a malformed body gets 400 and does not disturb the next request', async () => {
  const bad = await fetch(`${collector.url}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: new Uint8Array([0x0a, 0xff, 0xff, 0xff]),
  });
  assert.equal(bad.status, 400);
  const wrongType = await fetch(`${collector.url}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: 'hello',
  });
  assert.equal(wrongType.status, 415);
  const good = await fetch(`${collector.url}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ resourceLogs: [] }),
  });
  assert.equal(good.status, 200);
});

test('the same calls as invocation logs and api_request events count once, the ledger record enriched', async () => {
  const logs = join(
    import.meta.dirname,
    '..',
    '..',
    'src',
    'sources',
    'invocation-logs',
    'testdata',
    'operations.jsonl',
  );
  // The client sees the call at the time Bedrock logs it.
  const withId = (session: string, sequence: number, requestId: string, at: string) => {
    const r = request(session, sequence, 50, 400);
    return { ...r, attributes: { ...r.attributes, request_id: requestId, 'event.timestamp': at } };
  };
  // The event arrives before its invocation log: the ingest enriches the record it inserts.
  await sendLogs(false, 'cy@example.com', [
    withId('S-early', 1, '0b7c2a1e-0001-4000-8000-000000000003', '2026-03-02T10:17:01Z'),
  ]);
  await ingest(rt, { paths: [logs], format: 'auto', rejectsFile: join(tmp.path, 'rejects.jsonl') });
  // The event arrives after: the receiver enriches the stored record.
  await sendLogs(true, 'cy@example.com', [
    withId('S-late', 1, '0b7c2a1e-0001-4000-8000-000000000002', '2026-03-02T10:16:01Z'),
  ]);

  // Only March: the first test's November calls have no logs, so they are in the ledger as client-only rows.
  const bySession = await runReport(
    rt.store,
    { by: ['session'], where: [], since: '2026-03-01', until: '2026-03-05' },
    Date.parse('2026-03-05T00:00:00Z'),
  );
  const sessions = Object.fromEntries(bySession.rows.map((r) => [r.keys.session, r.requests]));
  assert.equal(sessions['S-early'], 1);
  assert.equal(sessions['S-late'], 1);
  // Counted once: the ledger still holds exactly the invocation logs' records.
  assert.equal(bySession.total.requests, 11);
  const late = await rt.store.getRecord('0b7c2a1e-0001-4000-8000-000000000002');
  assert.equal(late?.session, 'S-late');
  assert.match(String(late?.attribution), /telemetry\.session\.id/);
});

/** The day of the invocation-log fixture's calls. */
const MARCH_2 = {
  from: Date.parse('2026-03-02T00:00:00Z'),
  to: Date.parse('2026-03-03T00:00:00Z'),
};

test('a session whose telemetry names nobody is the person the ledger billed its calls to', async () => {
  // Claude Code on Bedrock with SSO credentials and no OTEL_RESOURCE_ATTRIBUTES: its records carry only the
  // anonymous install id, and its call's invocation log (already ingested above) the role session of the person.
  const r = request('S-alice', 1, 50, 400);
  const record = {
    ...r,
    attributes: {
      ...r.attributes,
      'user.id': 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2',
      request_id: '0b7c2a1e-0001-4000-8000-000000000004',
      'event.timestamp': '2026-03-02T10:18:01Z',
    },
  };
  await sendLogs(false, null, [record]);
  const billedTo = (await rt.store.getRecord('0b7c2a1e-0001-4000-8000-000000000004'))?.user;
  assert.equal(billedTo, 'alice.nguyen@example.com');
  const sessions = await rt.store.telemetry.telemetryReport({
    kind: 'sessions',
    ...MARCH_2,
    limit: 10,
  });
  assert.equal(sessions.find((s) => s.sessionId === 'S-alice')?.user, 'alice.nguyen@example.com');
  const users = await rt.store.telemetry.telemetryReport({ kind: 'users', ...MARCH_2 });
  assert.ok(users.some((u) => u.user === 'alice.nguyen@example.com'));
  assert.ok(!users.some((u) => u.user?.startsWith('a1b2c3')), 'not the install id');
});

test("a session whose calls were billed to several people is its latest call's person, once", async () => {
  // Three calls of one session matched to invocation logs of three role sessions. The latest one's person is neither
  // the first sent nor the smallest nor the largest name, so only "the latest call's user" picks it.
  const calls = [
    { id: '0b7c2a1e-0001-4000-8000-000000000002', at: '2026-03-02T10:16:01Z' },
    { id: '0b7c2a1e-0001-4000-8000-000000000010', at: '2026-03-02T10:24:01Z' },
    { id: '0b7c2a1e-0001-4000-8000-000000000004', at: '2026-03-02T10:18:01Z' },
  ];
  await sendLogs(
    false,
    null,
    calls.map((c, i) => {
      const r = request('S-three', i + 1, 50, 400);
      return {
        ...r,
        attributes: {
          ...r.attributes,
          'user.id': 'f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0',
          request_id: c.id,
          'event.timestamp': c.at,
        },
      };
    }),
  );
  const billed = await Promise.all(calls.map(async (c) => (await rt.store.getRecord(c.id))?.user));
  const latest = billed[1] as string;
  const names = [...billed].sort();
  assert.equal(new Set(billed).size, 3, `three people: ${billed.join(', ')}`);
  assert.ok(latest !== billed[0] && latest !== names[0] && latest !== names[2]);
  const sessions = await rt.store.telemetry.telemetryReport({
    kind: 'sessions',
    ...MARCH_2,
    limit: 50,
  });
  const three = sessions.filter((s) => s.sessionId === 'S-three');
  assert.equal(three.length, 1, 'one row for the session');
  assert.equal(three[0]?.user, latest);
});
