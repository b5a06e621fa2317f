/**
 * Claude Code telemetry read from requests built to telemetry.md §1–3: every testdata/claude-code case in both
 * encodings against its golden, plus the properties the goldens could hide — typed vs all-string events read the
 * same, identity and dimensions from record / resource / headers with the winner named, exact metric values,
 * cumulative streams (retries, restarts) counted once, and the real OpenTelemetry SDK's exports.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { assertGolden, toGoldenJson } from '../../../test/support/golden.ts';
import type { ClaudeCodeEvent, ClaudeCodeMetricDelta } from './claude-code.ts';
import { interpretClaudeCodeLogs } from './claude-code-events.ts';
import { interpretClaudeCodeMetrics } from './claude-code-metrics.ts';
import { CumulativeTracker } from './cumulative.ts';
import { addDecimal } from './decimal.ts';
import { decodeOtlp } from './decode.ts';
import type { LogsRequest, MetricsRequest } from './shape.ts';
import { readCases } from './testdata/fixtures.ts';

const dir = join(import.meta.dirname, 'testdata', 'claude-code');
const cases = readCases(dir);
const RECEIVED_AT = 1_800_000_000_000;

function decoded<T>(
  signal: 'logs' | 'metrics',
  encoding: 'json' | 'protobuf',
  body: Uint8Array,
): T {
  const r = decodeOtlp(signal, encoding, body);
  if (!r.ok) assert.fail(r.reason);
  return r.request as T;
}

/** Every request of a case, in order, through one tracker; the results per request. */
function run(name: string, encoding: 'json' | 'protobuf') {
  const c = cases.find((x) => x.name === name);
  assert.ok(c !== undefined, `no case ${name}`);
  const tracker = new CumulativeTracker();
  const context = { receivedAt: RECEIVED_AT, ...(c.headers && { headers: c.headers }) };
  return c.requests.map((r) =>
    c.signal === 'logs'
      ? interpretClaudeCodeLogs(decoded<LogsRequest>('logs', encoding, r[encoding]), context)
      : interpretClaudeCodeMetrics(
          decoded<MetricsRequest>('metrics', encoding, r[encoding]),
          context,
          tracker,
        ),
  );
}

const eventsOf = (name: string) =>
  run(name, 'json').flatMap((r) => ('events' in r ? r.events : []));
const deltasOf = (name: string) =>
  run(name, 'json').flatMap((r) => ('deltas' in r ? r.deltas : []));

function only<K extends ClaudeCodeEvent['kind']>(
  events: readonly ClaudeCodeEvent[],
  kind: K,
): Extract<ClaudeCodeEvent, { kind: K }>[] {
  return events.filter((e): e is Extract<ClaudeCodeEvent, { kind: K }> => e.kind === kind);
}

describe('Claude Code goldens (JSON and protobuf read alike)', () => {
  assert.ok(cases.length >= 6);
  for (const c of cases) {
    test(c.name, () => {
      const json = run(c.name, 'json');
      assert.deepEqual(run(c.name, 'protobuf'), json);
      assertGolden(join(dir, `${c.name}.golden.json`), toGoldenJson(json));
    });
  }
});

/** The events of one `claude_code.api_request` log record with these attributes, received at 1234. */
function apiRequestWith(attributes: unknown[]) {
  const body = {
    resourceLogs: [
      {
        scopeLogs: [
          { logRecords: [{ body: { stringValue: 'claude_code.api_request' }, attributes }] },
        ],
      },
    ],
  };
  const request = decoded<LogsRequest>(
    'logs',
    'json',
    new TextEncoder().encode(JSON.stringify(body)),
  );
  return interpretClaudeCodeLogs(request, { receivedAt: 1234 }).events;
}

describe('Claude Code events', () => {
  test('2.1.294 typed api_request: every documented field, exact cost, request id', () => {
    const [req, ...rest] = only(eventsOf('logs-2.1.294-typed'), 'api_request');
    assert.equal(rest.length, 0);
    assert.ok(req !== undefined);
    assert.deepEqual(
      {
        at: req.at,
        sessionId: req.sessionId,
        promptId: req.promptId,
        sequence: req.sequence,
        model: req.model,
        tokens: [req.inputTokens, req.outputTokens, req.cacheReadTokens, req.cacheCreationTokens],
        split: [req.cacheCreation5mTokens, req.cacheCreation1hTokens],
        cost: req.costUsdReported,
        micros: req.costUsdMicrosReported,
        timing: [req.durationMs, req.ttftMs],
        ids: [req.requestId, req.clientRequestId],
        facets: [req.speed, req.querySource, req.effort],
        version: req.version,
        issues: req.issues,
      },
      {
        at: 1791447318137,
        sessionId: 'eec3945a-5f1c-4a5e-9a53-3b0c1a2e7d10',
        promptId: 'a50257c3-0d4b-4a1e-8f3c-6b7a9e2d1c40',
        sequence: 15,
        model: 'claude-haiku-5-5',
        tokens: [2, 4, 9179, 13356],
        split: [null, null],
        cost: '0.0027651900000000003',
        micros: 2765,
        timing: [742, 729],
        ids: ['req_011CfpSK96NthX9vPNsW9X2b', '6c711657-3f2e-4d1a-9b8c-7e6f5a4b3c2d'],
        facets: ['normal', 'sdk', 'medium'],
        version: '2.1.294',
        issues: [],
      },
    );
    assert.equal(
      req.eventKey,
      'eec3945a-5f1c-4a5e-9a53-3b0c1a2e7d10|15|1791447318137000000|api_request',
    );
    // custom OTEL_RESOURCE_ATTRIBUTES keys are on the record too, so the record wins
    assert.deepEqual(req.dimensions, {
      'org.pane': { value: '3', from: 'record' },
      'org.role': { value: 'worker-probe', from: 'record' },
    });
  });

  test('every event is kept: documented ones without a type as `other`, unknown ones counted', () => {
    const [result] = run('logs-2.1.294-typed', 'json');
    assert.ok(result !== undefined && 'events' in result);
    assert.equal(result.counts.records, 12);
    assert.equal(result.events.length, 11);
    assert.equal(result.counts.notClaudeCode, 1);
    assert.deepEqual(result.counts.unknown, { future_event: 1 });
    const others = only(result.events, 'other').map((e) => [e.event, e.documented]);
    assert.deepEqual(others, [
      ['mcp_server_connection', true],
      ['hook_registered', true],
      ['future_event', false],
    ]);
    const future = only(result.events, 'other').find((e) => e.event === 'future_event');
    assert.deepEqual(future?.extra, { foo: 'bar', answer: 42n });
    const mcp = only(result.events, 'other').find((e) => e.event === 'mcp_server_connection');
    assert.deepEqual(mcp?.extra, {
      status: 'connected',
      transport_type: 'stdio',
      server_scope: 'project',
      duration_ms: '1493',
      is_plugin: false,
    });
  });

  test('tool, error, retry and refusal events: typed from strings and numbers alike', () => {
    const events = eventsOf('logs-2.1.294-typed');
    const [result] = only(events, 'tool_result');
    assert.deepEqual(
      [
        result?.success,
        result?.durationMs,
        result?.toolInputSizeBytes,
        result?.toolResultSizeBytes,
      ],
      [true, 12, 42, 1024],
    );
    assert.equal(only(events, 'tool_decision')[0]?.toolSource, 'builtin');
    const [error] = only(events, 'api_error');
    assert.deepEqual([error?.statusCode, error?.attempt, error?.durationMs], [529, 2, 1200]);
    const [exhausted] = only(events, 'api_retries_exhausted');
    assert.deepEqual([exhausted?.totalAttempts, exhausted?.totalRetryDurationMs], [11, 65000]);
    const [refusal] = only(events, 'api_refusal');
    assert.deepEqual(
      [refusal?.serverFallbackHop, refusal?.hasCategory, refusal?.hasExplanation],
      [false, true, false],
    );
    assert.equal(only(events, 'user_prompt')[0]?.promptLength, 30);
    assert.deepEqual(only(events, 'user_prompt')[0]?.extra, { prompt_text: '<REDACTED>' });
  });

  test('2.1.88 all-string values: numbers, exponent-form cost, "undefined" status code', () => {
    const events = eventsOf('logs-2.1.88-strings');
    const [big, tiny] = only(events, 'api_request');
    assert.deepEqual(
      [big?.inputTokens, big?.outputTokens, big?.cacheReadTokens, big?.cacheCreationTokens],
      [120, 456, 20000, 1500],
    );
    assert.equal(big?.costUsdReported, '0.0185');
    assert.equal(big?.durationMs, 2345);
    assert.equal(tiny?.costUsdReported, '0.0000005'); // String(5e-7) in 2.1.88
    const [error] = only(events, 'api_error');
    assert.equal(error?.statusCode, null);
    assert.deepEqual(error?.issues, []);
    assert.equal(only(events, 'tool_result')[0]?.success, false);
    // Claude account identity on the record; custom keys only in the resource in 2.1.88
    assert.deepEqual(big?.identity.userEmail, { value: 'alice@example.com', from: 'record' });
    assert.deepEqual(big?.identity.accountUuid?.from, 'record');
    assert.deepEqual(big?.dimensions, {
      cost_center: { value: 'cc-1001', from: 'resource' },
      department: { value: 'engineering', from: 'resource' },
      'team.id': { value: 'platform', from: 'resource' },
    });
  });

  test('the same api_request as strings (old) and as typed values (new) reads the same', () => {
    const attrs = (typed: boolean) => [
      { key: 'event.name', value: { stringValue: 'api_request' } },
      { key: 'event.sequence', value: { intValue: 4 } },
      ...(
        [
          ['input_tokens', 10],
          ['output_tokens', 20],
          ['cache_read_tokens', 30],
          ['cache_creation_tokens', 40],
          ['duration_ms', 50],
        ] as const
      ).map(([key, n]) => ({
        key,
        value: typed ? { intValue: n } : { stringValue: String(n) },
      })),
      { key: 'cost_usd', value: typed ? { doubleValue: 0.00123 } : { stringValue: '0.00123' } },
      { key: 'model', value: { stringValue: 'claude-sonnet-4-6' } },
    ];
    const read = (typed: boolean) => {
      const body = {
        resourceLogs: [
          {
            scopeLogs: [
              {
                scope: { name: 'com.anthropic.claude_code.events' },
                logRecords: [{ timeUnixNano: '1', attributes: attrs(typed) }],
              },
            ],
          },
        ],
      };
      const request = decoded<LogsRequest>(
        'logs',
        'json',
        new TextEncoder().encode(JSON.stringify(body)),
      );
      return interpretClaudeCodeLogs(request, { receivedAt: 0 }).events;
    };
    const [typed] = read(true);
    assert.equal(typed?.kind, 'api_request');
    assert.deepEqual(read(false), read(true));
  });

  test('missing token counts are 0 with an issue, never silently', () => {
    const [e] = apiRequestWith([{ key: 'input_tokens', value: { stringValue: 'lots' } }]);
    assert.equal(e?.kind, 'api_request');
    assert.equal(e?.at, 1234); // no time anywhere: when it was received
    assert.deepEqual(e?.issues, [
      'input_tokens: expected an integer, got "lots"',
      'output_tokens: missing',
      'cache_read_tokens: missing',
      'cache_creation_tokens: missing',
    ]);
  });

  test('a negative or inexact token count is an issue, never a number added up', () => {
    const [e] = apiRequestWith([
      { key: 'input_tokens', value: { intValue: '-5' } },
      { key: 'output_tokens', value: { intValue: '9223372036854775807' } },
      { key: 'cache_read_tokens', value: { intValue: '10' } },
      { key: 'cache_creation_tokens', value: { intValue: '0' } },
    ]);
    assert.ok(e?.kind === 'api_request');
    assert.deepEqual([e.inputTokens, e.outputTokens, e.cacheReadTokens], [0, 0, 10]);
    assert.deepEqual(e.issues, [
      'input_tokens: expected a count (≥ 0), got -5',
      'output_tokens: expected an integer, got int',
    ]);
  });

  test('Bedrock session, identity only in OTEL_RESOURCE_ATTRIBUTES', () => {
    const events = eventsOf('logs-bedrock-identity-in-resource');
    const [req] = only(events, 'api_request');
    assert.ok(req !== undefined);
    assert.deepEqual(req.identity.enduserId, { value: 'jdoe@example.com', from: 'resource' });
    assert.equal(req.identity.userId?.from, 'record'); // the anonymous install id
    assert.equal(req.identity.userEmail, null);
    assert.deepEqual(req.dimensions, {
      cost_center: { value: 'cc-2002', from: 'resource' },
      'enduser.directory_id': {
        value: 'S-1-5-21-1004336348-1177238915-682003330-512',
        from: 'resource',
      },
      team: { value: 'payments', from: 'resource' },
    });
    assert.equal(req.provider, 'bedrock');
    assert.equal(req.requestId, '7f3a2c1e-9b4d-4e8f-a1c2-3d4e5f6a7b8c');
    assert.deepEqual([req.cacheCreation5mTokens, req.cacheCreation1hTokens], [18234, 0]);
    assert.deepEqual(req.extra, { 'anthropic.custom_base_url': true });
    assert.deepEqual(
      events.map((e) => `${e.kind}:${e.event}`),
      [
        'other:managed_settings_resolved',
        'other:plugin_loaded',
        'user_prompt:user_prompt',
        'api_request:api_request',
        'assistant_response:assistant_response',
        'api_error:api_error',
      ],
    );
  });

  test('record → resource → header: the first non-empty wins and is named', () => {
    const kv = (key: string, value: string) => ({ key, value: { stringValue: value } });
    const body = {
      resourceLogs: [
        {
          resource: { attributes: [kv('user.email', 'res@x'), kv('team', 'res-team')] },
          scopeLogs: [
            {
              scope: { name: 'com.anthropic.claude_code.events' },
              logRecords: [
                {
                  body: { stringValue: 'claude_code.user_prompt' },
                  attributes: [
                    kv('user.email', 'rec@x'),
                    kv('team', ''),
                    kv('department', 'default'),
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const request = decoded<LogsRequest>(
      'logs',
      'json',
      new TextEncoder().encode(JSON.stringify(body)),
    );
    const headers = {
      'X-User-Email': 'hdr@x',
      'x-user-name': 'Header Name',
      'x-team-id': 'hdr-team-id',
      'x-department': 'hdr-dept',
      'x-user-token': 'secret',
    };
    const [e] = interpretClaudeCodeLogs(request, { receivedAt: 0, headers }).events;
    assert.deepEqual(e?.identity.userEmail, { value: 'rec@x', from: 'record' });
    assert.deepEqual(e?.identity.userName, { value: 'Header Name', from: 'header' });
    assert.deepEqual(e?.dimensions, {
      department: { value: 'hdr-dept', from: 'header' }, // 'default' is a placeholder
      team: { value: 'res-team', from: 'resource' }, // '' on the record is absent
      'team.id': { value: 'hdr-team-id', from: 'header' },
    });
    assert.equal(
      JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)).includes(
        'secret',
      ),
      false,
    );
  });
});

describe('the AWS account (cloud.account.id)', () => {
  type Value = { stringValue: string } | { intValue: number };
  const kv = (key: string, value: Value) => ({ key, value });
  const str = (key: string, v: string) => kv(key, { stringValue: v });
  const record = (n: number, attributes: ReturnType<typeof kv>[]) => ({
    body: { stringValue: 'claude_code.api_request' },
    attributes: [
      str('event.name', 'api_request'),
      kv('event.sequence', { intValue: n }),
      ...attributes,
    ],
  });
  const resourceLogs = (
    resource: ReturnType<typeof kv>[],
    records: ReturnType<typeof record>[],
  ) => ({
    resource: { attributes: resource },
    scopeLogs: [{ scope: { name: 'com.anthropic.claude_code.events' }, logRecords: records }],
  });
  const read = (body: unknown) =>
    interpretClaudeCodeLogs(
      decoded<LogsRequest>('logs', 'json', new TextEncoder().encode(JSON.stringify(body))),
      { receivedAt: 0 },
    ).events;

  test('read from the resource; the record’s wins; only a 12-digit account id counts', () => {
    const events = read({
      resourceLogs: [
        resourceLogs(
          [str('service.name', 'claude-code'), str('cloud.account.id', '111122223333')],
          [
            record(1, []),
            record(2, [str('cloud.account.id', '444455556666')]),
            // Not an account id on the record: ignored (with an issue), the resource's stands.
            record(3, [str('cloud.account.id', 'arn:aws:iam::444455556666:root')]),
          ],
        ),
        resourceLogs([str('cloud.account.id', '12345')], [record(4, [])]),
        resourceLogs([kv('cloud.account.id', { intValue: 555566667777 })], [record(5, [])]),
        // What Claude Code sends: no account.
        resourceLogs([str('service.name', 'claude-code')], [record(6, [])]),
      ],
    });
    assert.deepEqual(
      events.map((e) => [e.sequence, e.awsAccount]),
      [
        [1, '111122223333'],
        [2, '444455556666'],
        [3, '111122223333'],
        [4, null],
        [5, '555566667777'],
        [6, null],
      ],
    );
    const [, second, third] = events;
    assert.equal(second?.extra['cloud.account.id'], undefined); // read, not left in `extra`
    assert.ok(third?.issues.some((i) => i.startsWith('cloud.account.id: expected a 12-digit')));
    // Infrastructure, not a dimension.
    assert.deepEqual(events[0]?.dimensions, {});
  });
});

describe('Claude Code metrics', () => {
  test('DELTA (2.1.138): all eight metrics, exact values, zero and foreign points counted', () => {
    const [r] = run('metrics-delta-2.1.138', 'json');
    assert.ok(r !== undefined && 'deltas' in r);
    const line = (d: ClaudeCodeMetricDelta) =>
      `${d.metric} ${d.type ?? '-'} ${d.valueType}:${d.value} ${d.outcome}`;
    assert.deepEqual(r.deltas.map(line), [
      'claude_code.session.count - integer:1 delta',
      'claude_code.cost.usage - usd:0.04186875 delta',
      'claude_code.token.usage input integer:9 delta',
      'claude_code.token.usage output integer:2067 delta',
      'claude_code.token.usage cacheRead integer:41250 delta',
      'claude_code.token.usage cacheCreation integer:3310 delta',
      'claude_code.lines_of_code.count added integer:37 delta',
      'claude_code.code_edit_tool.decision - integer:2 delta',
      'claude_code.commit.count - integer:1 delta',
      'claude_code.pull_request.count - integer:1 delta',
      'claude_code.active_time.total user seconds:12.5 delta',
      'claude_code.active_time.total cli seconds:31.07 delta',
      'claude_code.future.count - decimal:3 delta',
    ]);
    assert.equal(typeof r.deltas[2]?.value, 'bigint');
    assert.deepEqual(r.counts, {
      points: 14,
      zero: 1,
      duplicate: 0,
      stale: 0,
      notClaudeCode: 1,
      deltas: 13,
      unknownMetrics: { 'claude_code.future.count': 1 },
    });
    const decision = r.deltas.find((d) => d.metric === 'claude_code.code_edit_tool.decision');
    assert.deepEqual(decision?.extra, {
      tool_name: 'Edit',
      decision: 'accept',
      source: 'user_temporary',
      language: 'TypeScript',
    });
    assert.equal(r.deltas[0]?.version, '2.1.138');
    assert.deepEqual(r.deltas[0]?.identity.accountId, {
      value: 'user_01AbCdEfGhIjKlMnOpQrSt',
      from: 'record',
    });
    assert.equal(new Set(r.deltas.map((d) => d.key)).size, r.deltas.length);
  });

  test('Bedrock via the AWS guidance: identity only in headers, `default` placeholders overridden', () => {
    const deltas = deltasOf('metrics-bedrock-identity-in-headers');
    const tokens = deltas.filter((d) => d.metric === 'claude_code.token.usage');
    assert.deepEqual(
      tokens.map((d) => [d.type, d.value]),
      [
        ['input', 3n],
        ['output', 512n],
        ['cacheCreation', 18234n],
      ],
    );
    const [first] = tokens;
    assert.equal(first?.model, 'us.anthropic.claude-opus-5-5');
    assert.deepEqual(first?.identity.userEmail, { value: 'jane@acme.com', from: 'header' });
    assert.deepEqual(first?.identity.userId?.from, 'record'); // the install id on the point wins
    assert.deepEqual(first?.dimensions, {
      cost_center: { value: '4410', from: 'header' },
      department: { value: 'platform', from: 'header' },
      organization: { value: 'acme', from: 'header' },
      project: { value: 'default', from: 'record' }, // only a placeholder anywhere: it stays
      settings_version: { value: '2026-07-18T00:00:00Z', from: 'record' },
      'tag.project': { value: 'atlas', from: 'header' },
      'team.id': { value: 'team-blue', from: 'header' },
    });
    const cost = deltas.find((d) => d.metric === 'claude_code.cost.usage');
    assert.deepEqual([cost?.valueType, cost?.value], ['usd', '0.1267625']);
    const cli = deltas.find(
      (d) => d.metric === 'claude_code.active_time.total' && d.type === 'cli',
    );
    assert.deepEqual([cli?.valueType, cli?.value], ['seconds', 6.248]);
  });

  test('CUMULATIVE: retries, unchanged exports and a restart count once; cost stays exact', () => {
    const results = run('metrics-cumulative-restart', 'json');
    const deltas = results.flatMap((r) => ('deltas' in r ? r.deltas : []));
    const inputs = deltas.filter(
      (d) => d.metric === 'claude_code.token.usage' && d.type === 'input',
    );
    assert.deepEqual(
      inputs.map((d) => [d.outcome, d.value, d.sessionId?.slice(0, 8)]),
      [
        ['first', 100n, '11111111'],
        ['increase', 150n, '11111111'],
        ['restart', 40n, '11111111'],
        ['increase', 5n, '11111111'],
        ['increase', 50n, '11111111'],
        ['first', 5n, '22222222'],
      ],
    );
    assert.equal(
      inputs.reduce((s, d) => s + (d.valueType === 'integer' ? d.value : 0n), 0n),
      255n + 90n + 5n, // the final totals of the three streams
    );
    const cost = deltas
      .filter((d) => d.metric === 'claude_code.cost.usage')
      .map((d) => (d.valueType === 'usd' ? d.value : ''));
    assert.deepEqual(cost, ['0.1', '0.2', '0.05', '0.01', '0.025', '0.001']); // 0.3 − 0.1 is not 0.19999999999999998
    assert.equal(cost.reduce(addDecimal), '0.386');
    const counts = results.map((r) => ('deltas' in r ? [r.counts.duplicate, r.counts.zero] : []));
    assert.deepEqual(counts, [
      [0, 0],
      [0, 0],
      [4, 0],
      [0, 4],
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
    const active = deltas.filter((d) => d.metric === 'claude_code.active_time.total');
    assert.deepEqual(
      active.map((d) => d.value),
      [10.5, 19.75, 3.5, 0.75, 5.5, 1],
    );
  });

  test('without a shared tracker a re-sent cumulative export would count twice (the tracker matters)', () => {
    const c = cases.find((x) => x.name === 'metrics-cumulative-restart');
    const body = c?.requests[1]?.json ?? new Uint8Array();
    const request = decoded<MetricsRequest>('metrics', 'json', body);
    const once = interpretClaudeCodeMetrics(request, { receivedAt: 0 }, new CumulativeTracker());
    const shared = new CumulativeTracker();
    interpretClaudeCodeMetrics(request, { receivedAt: 0 }, shared);
    const again = interpretClaudeCodeMetrics(request, { receivedAt: 0 }, shared);
    assert.equal(once.deltas.length, 4);
    assert.equal(again.deltas.length, 0);
    assert.equal(again.counts.duplicate, 4);
  });

  test('the OpenTelemetry JS SDK, delta and cumulative, with a process restart: totals match', async () => {
    for (const temporality of [AggregationTemporality.DELTA, AggregationTemporality.CUMULATIVE]) {
      for (const encoding of ['json', 'protobuf'] as const) {
        const tracker = new CumulativeTracker();
        let counted = 0n;
        let added = 0;
        for (const process of [1, 2]) {
          const exporter = new InMemoryMetricExporter(temporality);
          const reader = new PeriodicExportingMetricReader({
            exporter,
            exportIntervalMillis: 3_600_000,
          });
          const provider = new MeterProvider({
            resource: resourceFromAttributes({ 'service.name': 'claude-code', team: 'blue' }),
            readers: [reader],
          });
          const counter = provider
            .getMeter('com.anthropic.claude_code', '2.1.330')
            .createCounter('claude_code.token.usage', { unit: 'tokens' });
          for (const n of [100, 250, 7]) {
            counter.add(n * process, { type: 'input', 'session.id': 'same-session' });
            added += n * process;
            await reader.forceFlush();
          }
          await reader.forceFlush(); // an export with nothing new
          for (const batch of exporter.getMetrics()) {
            const body =
              encoding === 'json'
                ? JsonMetricsSerializer.serializeRequest(batch)
                : ProtobufMetricsSerializer.serializeRequest(batch);
            const request = decoded<MetricsRequest>('metrics', encoding, body ?? new Uint8Array());
            for (const d of interpretClaudeCodeMetrics(request, { receivedAt: 0 }, tracker)
              .deltas) {
              if (d.valueType === 'integer') counted += d.value;
            }
          }
          await provider.shutdown();
          await sleep(5); // the next process starts later: a new start time
        }
        assert.equal(counted, BigInt(added), `${AggregationTemporality[temporality]} ${encoding}`);
      }
    }
  });
});
