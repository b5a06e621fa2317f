/**
 * decodeOtlp: every field of every message read the same from OTLP/JSON and binary protobuf (goldens over
 * testdata/decode, encoded both ways), the real OpenTelemetry JS serializers' output in both encodings, the
 * OTLP/JSON rules (hex ids, int64 as strings or numbers, enums, NaN, unknown fields), and malformed bodies refused
 * with a reason instead of an exception.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import {
  JsonLogsSerializer,
  JsonMetricsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { assertGolden, toGoldenJson } from '../../../test/support/golden.ts';
import { decodeOtlp } from './decode.ts';
import type { LogsRequest, MetricsRequest, OtlpSignal, TracesRequest } from './shape.ts';
import { goldenSafe, readCases, toProtobuf } from './testdata/fixtures.ts';

const dir = join(import.meta.dirname, 'testdata', 'decode');
const utf8 = (s: string) => new TextEncoder().encode(s);

function ok<S extends OtlpSignal>(signal: S, encoding: 'json' | 'protobuf', body: Uint8Array) {
  const r = decodeOtlp(signal, encoding, body);
  if (!r.ok) assert.fail(`${signal}/${encoding} refused: ${r.reason}`);
  return r.request;
}

function refused(signal: OtlpSignal, encoding: 'json' | 'protobuf', body: Uint8Array): string {
  const r = decodeOtlp(signal, encoding, body);
  assert.equal(r.ok, false, `expected ${signal}/${encoding} to be refused`);
  return r.ok ? '' : r.reason;
}

describe('decodeOtlp goldens: every field, both encodings', () => {
  for (const c of readCases(dir)) {
    test(c.name, () => {
      const [req] = c.requests;
      assert.ok(req !== undefined);
      const fromJson = ok(c.signal, 'json', req.json);
      const fromProtobuf = ok(c.signal, 'protobuf', req.protobuf);
      assert.deepEqual(fromProtobuf, fromJson);
      assertGolden(join(dir, `${c.name}.golden.json`), toGoldenJson(goldenSafe(fromJson)));
    });
  }

  test('the fixtures really cover every kind of value', () => {
    const logs = ok(
      'logs',
      'json',
      readCases(dir).find((c) => c.signal === 'logs')?.requests[0]?.json ?? utf8(''),
    );
    const types = new Set(
      logs.resourceLogs[0]?.scopeLogs[0]?.logRecords[0]?.attributes.map((a) => a.value.type),
    );
    assert.deepEqual([...types].sort(), [
      'array',
      'bool',
      'bytes',
      'double',
      'empty',
      'int',
      'kvlist',
      'string',
    ]);
    const metrics = readCases(dir).find((c) => c.signal === 'metrics');
    const m = ok('metrics', 'protobuf', metrics?.requests[0]?.protobuf ?? new Uint8Array());
    const data = new Set(
      m.resourceMetrics[0]?.scopeMetrics[0]?.metrics.map((x) => x.data?.type ?? 'none'),
    );
    assert.deepEqual([...data].sort(), [
      'exponentialHistogram',
      'gauge',
      'histogram',
      'none',
      'sum',
      'summary',
    ]);
  });
});

describe('decodeOtlp reads the OpenTelemetry JS exporters’ bodies the same in both encodings', () => {
  const resource = resourceFromAttributes({ 'service.name': 'claude-code', team: 'blue' });

  test('logs', () => {
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      resource,
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
    provider.getLogger('com.anthropic.claude_code.events', '2.1.294').emit({
      timestamp: 1791447318137,
      observedTimestamp: 1791447318137,
      body: 'claude_code.api_request',
      attributes: {
        'event.sequence': 15,
        cost_usd: 0.0027651900000000003,
        ok: true,
        list: ['a', 'b'],
      },
    });
    const records = exporter.getFinishedLogRecords();
    const json = ok('logs', 'json', JsonLogsSerializer.serializeRequest(records) ?? utf8(''));
    const pb = ok('logs', 'protobuf', ProtobufLogsSerializer.serializeRequest(records) ?? utf8(''));
    assert.deepEqual(pb, json);
    const record = json.resourceLogs[0]?.scopeLogs[0]?.logRecords[0];
    assert.equal(record?.timeUnixNano, 1791447318137000000n);
    assert.deepEqual(record?.body, { type: 'string', value: 'claude_code.api_request' });
    assert.deepEqual(record?.attributes[0], {
      key: 'event.sequence',
      value: { type: 'int', value: 15n },
    });
    assert.deepEqual(record?.attributes[1]?.value, {
      type: 'double',
      value: 0.0027651900000000003,
    });
  });

  test('metrics: a delta counter and a cumulative histogram', async () => {
    for (const temporality of [AggregationTemporality.DELTA, AggregationTemporality.CUMULATIVE]) {
      const exporter = new InMemoryMetricExporter(temporality);
      const reader = new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis: 3_600_000,
      });
      const provider = new MeterProvider({ resource, readers: [reader] });
      const meter = provider.getMeter('com.anthropic.claude_code', '2.1.330');
      meter.createCounter('claude_code.token.usage', { unit: 'tokens' }).add(9, { type: 'input' });
      meter.createHistogram('gen_ai.client.token.usage', { unit: '{token}' }).record(1200, {
        'gen_ai.token.type': 'input',
      });
      await reader.forceFlush();
      const [batch] = exporter.getMetrics();
      assert.ok(batch !== undefined);
      const json = ok('metrics', 'json', JsonMetricsSerializer.serializeRequest(batch) ?? utf8(''));
      const pb = ok(
        'metrics',
        'protobuf',
        ProtobufMetricsSerializer.serializeRequest(batch) ?? utf8(''),
      );
      assert.deepEqual(pb, json);
      const [sum, histogram] = json.resourceMetrics[0]?.scopeMetrics[0]?.metrics ?? [];
      assert.equal(sum?.data?.type, 'sum');
      if (sum?.data?.type === 'sum') {
        assert.equal(
          sum.data.aggregationTemporality,
          temporality === AggregationTemporality.DELTA ? 1 : 2,
        );
        assert.deepEqual(sum.data.dataPoints[0]?.value, { type: 'double', value: 9 });
      }
      assert.equal(histogram?.data?.type, 'histogram');
      if (histogram?.data?.type === 'histogram') {
        assert.equal(histogram.data.dataPoints[0]?.count, 1n);
        assert.equal(histogram.data.dataPoints[0]?.sum, 1200);
      }
      await provider.shutdown();
    }
  });

  test('traces: ids are lowercase hex from both encodings', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource,
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    const tracer = provider.getTracer('my-app');
    const parent = tracer.startSpan('parent');
    tracer
      .startSpan(
        'chat model',
        { attributes: { 'gen_ai.usage.input_tokens': 12 } },
        trace.setSpan(ROOT_CONTEXT, parent),
      )
      .end();
    parent.end();
    const spans = exporter.getFinishedSpans();
    const json = ok('traces', 'json', JsonTraceSerializer.serializeRequest(spans) ?? utf8(''));
    const pb = ok(
      'traces',
      'protobuf',
      ProtobufTraceSerializer.serializeRequest(spans) ?? utf8(''),
    );
    assert.deepEqual(pb, json);
    const [child, parentSpan] = json.resourceSpans[0]?.scopeSpans[0]?.spans ?? [];
    assert.match(child?.traceId ?? '', /^[0-9a-f]{32}$/);
    assert.match(child?.spanId ?? '', /^[0-9a-f]{16}$/);
    assert.equal(child?.parentSpanId, parentSpan?.spanId);
    assert.equal(child?.traceId, spans[0]?.spanContext().traceId);
    await provider.shutdown();
  });
});

describe('decodeOtlp: OTLP/JSON rules', () => {
  const logs = (record: object) =>
    utf8(JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [record] }] }] }));
  const first = (r: LogsRequest) => r.resourceLogs[0]?.scopeLogs[0]?.logRecords[0];

  test('int64 as a decimal string or a number; bigint beyond 2^53 kept exactly from strings', () => {
    const r = ok(
      'logs',
      'json',
      logs({
        timeUnixNano: '1791447318137000123',
        observedTimeUnixNano: 1791447318137,
        attributes: [
          { key: 'a', value: { intValue: '-9223372036854775808' } },
          { key: 'b', value: { intValue: 15 } },
        ],
      }),
    );
    assert.equal(first(r)?.timeUnixNano, 1791447318137000123n);
    assert.equal(first(r)?.observedTimeUnixNano, 1791447318137n);
    assert.deepEqual(
      first(r)?.attributes.map((a) => a.value),
      [
        { type: 'int', value: -9223372036854775808n },
        { type: 'int', value: 15n },
      ],
    );
  });

  test('proto field names, enum names, NaN/Infinity, null and unknown fields', () => {
    const body = utf8(
      JSON.stringify({
        resource_metrics: [
          {
            scope_metrics: [
              {
                metrics: [
                  {
                    name: 'x',
                    sum: {
                      aggregation_temporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
                      is_monotonic: true,
                      data_points: [{ as_double: 'NaN', time_unix_nano: '5', flags: null }],
                    },
                    brandNewField: { anything: [1, 2] },
                  },
                  { name: 'y', gauge: { dataPoints: [{ asDouble: '-Infinity' }] } },
                ],
              },
            ],
          },
        ],
      }),
    );
    const r: MetricsRequest = ok('metrics', 'json', body);
    const [x, y] = r.resourceMetrics[0]?.scopeMetrics[0]?.metrics ?? [];
    assert.ok(x?.data?.type === 'sum');
    assert.equal(x.data.aggregationTemporality, 2);
    assert.equal(x.data.isMonotonic, true);
    assert.deepEqual(x.data.dataPoints[0]?.value, { type: 'double', value: Number.NaN });
    assert.equal(x.data.dataPoints[0]?.timeUnixNano, 5n);
    assert.equal(x.data.dataPoints[0]?.flags, 0);
    assert.ok(y?.data?.type === 'gauge');
    assert.deepEqual(y.data.dataPoints[0]?.value, {
      type: 'double',
      value: Number.NEGATIVE_INFINITY,
    });
  });

  test('span kind and status code by name; upper-case hex ids read case-insensitively', () => {
    const body = utf8(
      JSON.stringify({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: 'ABCDEF0123456789ABCDEF0123456789',
                    spanId: '0123456789ABCDEF',
                    kind: 'SPAN_KIND_CLIENT',
                    status: { code: 'STATUS_CODE_ERROR' },
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const span = (ok('traces', 'json', body) as TracesRequest).resourceSpans[0]?.scopeSpans[0]
      ?.spans[0];
    assert.equal(span?.kind, 3);
    assert.equal(span?.status.code, 2);
    assert.equal(span?.traceId, 'abcdef0123456789abcdef0123456789');
    assert.equal(span?.spanId, '0123456789abcdef');
  });

  test('an empty protobuf body is the empty request; an empty JSON object too', () => {
    assert.deepEqual(ok('traces', 'protobuf', new Uint8Array()), { resourceSpans: [] });
    assert.deepEqual(ok('metrics', 'json', utf8('{}')), { resourceMetrics: [] });
  });

  test('protobuf: unknown fields are skipped', () => {
    const known = toProtobuf('logs', {
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ severityText: 'X' }] }] }],
    });
    // field 15, wire type 2 (length-delimited), 3 bytes: a field a newer schema might add
    const withUnknown = new Uint8Array([...known, 0x7a, 0x03, 0x61, 0x62, 0x63]);
    assert.deepEqual(ok('logs', 'protobuf', withUnknown), ok('logs', 'protobuf', known));
    assert.equal(first(ok('logs', 'protobuf', withUnknown))?.severityText, 'X');
  });
});

describe('decodeOtlp: malformed bodies are refused with a reason, never thrown', () => {
  const good = toProtobuf('metrics', {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }] },
        scopeMetrics: [
          {
            metrics: [{ name: 'claude_code.token.usage', sum: { dataPoints: [{ asDouble: 9 }] } }],
          },
        ],
      },
    ],
  });
  const logsJson = (record: object) =>
    utf8(JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [record] }] }] }));
  const cases: [string, OtlpSignal, 'json' | 'protobuf', Uint8Array, RegExp][] = [
    [
      'truncated protobuf',
      'metrics',
      'protobuf',
      good.subarray(0, good.length - 4),
      /invalid protobuf ExportMetricsServiceRequest: index out of range/,
    ],
    [
      'JSON sent as protobuf',
      'logs',
      'protobuf',
      utf8('{"resourceLogs":[]}'),
      /invalid protobuf ExportLogsServiceRequest/,
    ],
    [
      'a protobuf trace id of 5 bytes',
      'traces',
      'protobuf',
      new Uint8Array([0x0a, 0x0b, 0x12, 0x09, 0x12, 0x07, 0x0a, 0x05, 1, 2, 3, 4, 5]),
      /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: expected 16 bytes, got 5 bytes/,
    ],
    ['invalid JSON', 'logs', 'json', utf8('{"resourceLogs": ['), /invalid JSON/],
    ['empty JSON body', 'logs', 'json', utf8('  '), /empty JSON body/],
    ['not UTF-8', 'logs', 'json', new Uint8Array([0x7b, 0xff, 0x7d]), /not valid UTF-8/],
    ['a JSON array at the top', 'logs', 'json', utf8('[]'), /expected a JSON object, got an array/],
    [
      'resourceLogs not an array',
      'logs',
      'json',
      utf8('{"resourceLogs":"x"}'),
      /^resourceLogs: expected an array, got the string "x"$/,
    ],
    [
      'timeUnixNano a boolean',
      'logs',
      'json',
      logsJson({ timeUnixNano: true }),
      /resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[0\]\.timeUnixNano: expected an unsigned 64-bit integer/,
    ],
    [
      'timeUnixNano negative',
      'logs',
      'json',
      logsJson({ timeUnixNano: '-5' }),
      /timeUnixNano: expected an unsigned 64-bit integer/,
    ],
    [
      'intValue a fraction',
      'logs',
      'json',
      logsJson({ attributes: [{ key: 'k', value: { intValue: 1.5 } }] }),
      /attributes\[0\]\.value\.intValue: expected a signed 64-bit integer/,
    ],
    [
      'intValue out of int64 range',
      'logs',
      'json',
      logsJson({ attributes: [{ key: 'k', value: { intValue: '9223372036854775808' } }] }),
      /intValue: expected a signed 64-bit integer/,
    ],
    [
      'attributes an object',
      'logs',
      'json',
      logsJson({ attributes: { k: 'v' } }),
      /logRecords\[0\]\.attributes: expected an array, got an object/,
    ],
    [
      'an attribute key a number',
      'logs',
      'json',
      logsJson({ attributes: [{ key: 7 }] }),
      /attributes\[0\]\.key: expected a string, got number 7/,
    ],
    [
      'a record that is a string',
      'logs',
      'json',
      utf8('{"resourceLogs":[{"scopeLogs":[{"logRecords":["x"]}]}]}'),
      /logRecords\[0\]: expected an object/,
    ],
    [
      'traceId not hex',
      'logs',
      'json',
      logsJson({ traceId: 'zz'.repeat(16) }),
      /traceId: expected 32 hex digits/,
    ],
    [
      'traceId base64 instead of hex',
      'logs',
      'json',
      logsJson({ traceId: 'W47/95gDgQPSabYzgT/GDA==' }),
      /traceId: expected 32 hex digits/,
    ],
    [
      'spanId too long',
      'logs',
      'json',
      logsJson({ spanId: '00'.repeat(9) }),
      /spanId: expected 16 hex digits/,
    ],
    [
      'an unknown enum name',
      'metrics',
      'json',
      utf8(
        '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"sum":{"aggregationTemporality":"DELTA"}}]}]}]}',
      ),
      /sum\.aggregationTemporality: expected an enum integer/,
    ],
    [
      'isMonotonic a string',
      'metrics',
      'json',
      utf8('{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"sum":{"isMonotonic":"true"}}]}]}]}'),
      /isMonotonic: expected a boolean/,
    ],
    [
      'bucketCounts with a word',
      'metrics',
      'json',
      utf8(
        '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"histogram":{"dataPoints":[{"bucketCounts":["1","many"]}]}}]}]}]}',
      ),
      /bucketCounts\[1\]: expected a number, got the string "many"/,
    ],
    [
      'bytesValue not base64',
      'logs',
      'json',
      logsJson({ body: { bytesValue: 'not base64!' } }),
      /body\.bytesValue: expected base64 bytes/,
    ],
    [
      'doubleValue a word',
      'logs',
      'json',
      logsJson({ body: { doubleValue: 'lots' } }),
      /body\.doubleValue: expected a number/,
    ],
  ];
  for (const [name, signal, encoding, body, reason] of cases) {
    test(name, () => assert.match(refused(signal, encoding, body), reason));
  }

  test('AnyValue nested beyond 64 levels is refused, not a stack overflow', () => {
    const n = 5_000;
    const deep = `${'{"arrayValue":{"values":['.repeat(n)}{"stringValue":"deep"}${']}}'.repeat(n)}`;
    const body = utf8(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":${deep}}]}]}]}`);
    assert.match(refused('logs', 'json', body), /nested deeper than 64 levels/);
    // The same in protobuf, encoded by hand (protobufjs refuses to build it): its decoder stops at 100 levels.
    const field = (no: number, bytes: Uint8Array): Uint8Array => {
      const len: number[] = [];
      for (let v = bytes.length; ; v >>>= 7) {
        if (v < 0x80) {
          len.push(v);
          break;
        }
        len.push((v & 0x7f) | 0x80);
      }
      return new Uint8Array([(no << 3) | 2, ...len, ...bytes]);
    };
    let anyValue = field(1, utf8('deep'));
    for (let i = 0; i < 200; i++) anyValue = field(5, field(1, anyValue)); // AnyValue.array_value.values
    const pb = field(1, field(2, field(2, field(5, anyValue)))); // request.resource_logs.scope_logs.log_records.body
    assert.match(
      refused('logs', 'protobuf', pb),
      /invalid protobuf ExportLogsServiceRequest: max depth exceeded/,
    );
  });

  test('every refusal is a value: random bytes in either encoding never throw', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 300; i++) {
      const bytes = new Uint8Array(1 + (rand() % 64)).map(() => rand() % 256);
      for (const signal of ['logs', 'metrics', 'traces'] as const) {
        for (const encoding of ['json', 'protobuf'] as const) {
          const r = decodeOtlp(signal, encoding, bytes);
          assert.ok(r.ok || r.reason.length > 0);
        }
      }
    }
    // and every prefix of a valid body
    for (let n = 0; n < good.length; n++) decodeOtlp('metrics', 'protobuf', good.subarray(0, n));
  });
});
