/**
 * GenAI semantic conventions (telemetry.md §4): spans from the botocore Bedrock instrumentation, current (v1.40)
 * and legacy attribute names, Claude Code's own spans skipped; the `gen_ai.client.token.usage` histogram summed
 * per token type, delta and cumulative; goldens in both encodings and the real OpenTelemetry JS SDK.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  JsonMetricsSerializer,
  JsonTraceSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
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
import { CumulativeTracker } from './cumulative.ts';
import { decodeOtlp } from './decode.ts';
import {
  type GenAiMetricsResult,
  type GenAiMetricUsage,
  type GenAiTracesResult,
  interpretGenAiTraces,
} from './genai.ts';
import { genAiMetricIntervals, interpretGenAiMetrics } from './genai-metrics.ts';
import type { MetricsRequest, TracesRequest } from './shape.ts';
import { readCases } from './testdata/fixtures.ts';

const dir = join(import.meta.dirname, 'testdata', 'genai');
const cases = readCases(dir);

function decoded<T>(
  signal: 'metrics' | 'traces',
  encoding: 'json' | 'protobuf',
  body: Uint8Array,
): T {
  const r = decodeOtlp(signal, encoding, body);
  if (!r.ok) assert.fail(r.reason);
  return r.request as T;
}

function run(
  name: string,
  encoding: 'json' | 'protobuf',
): (GenAiTracesResult | GenAiMetricsResult)[] {
  const c = cases.find((x) => x.name === name);
  assert.ok(c !== undefined, `no case ${name}`);
  const tracker = new CumulativeTracker();
  const context = c.headers === undefined ? {} : { headers: c.headers };
  return c.requests.map((r) =>
    c.signal === 'traces'
      ? interpretGenAiTraces(decoded<TracesRequest>('traces', encoding, r[encoding]), context)
      : interpretGenAiMetrics(
          decoded<MetricsRequest>('metrics', encoding, r[encoding]),
          context,
          tracker,
        ),
  );
}

describe('GenAI goldens (JSON and protobuf read alike)', () => {
  assert.ok(cases.length >= 2);
  for (const c of cases) {
    test(c.name, () => {
      const json = run(c.name, 'json');
      assert.deepEqual(run(c.name, 'protobuf'), json);
      assertGolden(join(dir, `${c.name}.golden.json`), toGoldenJson(json));
    });
  }
});

const isTraces = (r: GenAiTracesResult | GenAiMetricsResult): r is GenAiTracesResult =>
  !('problems' in r);
const isMetrics = (r: GenAiTracesResult | GenAiMetricsResult): r is GenAiMetricsResult =>
  'problems' in r;

describe('GenAI spans', () => {
  const [result] = run('traces-mixed-emitters', 'json').filter(isTraces);
  assert.ok(result !== undefined);
  const usages = result.usages;
  const bySpan = (id: string) => {
    const u = usages.find((x) => x.spanId === id);
    assert.ok(u !== undefined, `no usage for span ${id}`);
    return u;
  };

  test('which spans count', () => {
    // The `openai` span (gpt-5) is another provider's call: counted, not Bedrock usage.
    assert.deepEqual(result.counts, {
      spans: 8,
      withoutUsage: 1,
      claudeCode: 1,
      notGenAi: 1,
      otherProvider: 1,
    });
    assert.equal(usages.length, 4);
  });

  test('botocore Bedrock Converse span: gen_ai.system, aws.request_id, no cache attributes', () => {
    const u = bySpan('eee19b7ec3c1b174');
    assert.deepEqual(
      [u.provider, u.providerAttribute, u.bedrock, u.operation, u.model, u.requestId],
      [
        'aws.bedrock',
        'gen_ai.system',
        true,
        'chat',
        'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
        'b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e',
      ],
    );
    assert.deepEqual(u.tokens, {
      input: 1200,
      output: 300,
      cacheRead: null,
      cacheCreation: null,
      reasoning: null,
    });
    assert.deepEqual(
      [u.naming, u.inputIncludesCache, u.uncachedInputTokens],
      ['current', null, 1200],
    );
    assert.deepEqual(u.finishReasons, ['end_turn']);
    assert.equal(u.traceId, '5b8efff798038103d269b633813fc60c');
    assert.equal(u.durationMs, 2100);
    assert.equal(u.serviceName, 'checkout-assistant');
    assert.deepEqual(u.identity.enduserId, { value: 'customer-7781', from: 'record' });
    assert.deepEqual(u.dimensions, {
      'deployment.environment': { value: 'prod', from: 'resource' },
      team: { value: 'payments', from: 'resource' },
    });
  });

  test('semconv v1.40: provider.name, cache attributes included in input, response model and id', () => {
    const u = bySpan('b7ad6b7169203331');
    assert.deepEqual(
      [u.provider, u.providerAttribute, u.bedrock, u.model, u.requestModel, u.responseId],
      [
        'aws.bedrock',
        'gen_ai.provider.name',
        true,
        'claude-sonnet-4-5-20250929',
        'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
        'msg_bdrk_01XyZaBcDeFgHiJkLmNoPqRs',
      ],
    );
    assert.deepEqual(u.tokens, {
      input: 5000,
      output: 200,
      cacheRead: 3000,
      cacheCreation: 1000,
      reasoning: 50,
    });
    assert.deepEqual([u.inputIncludesCache, u.uncachedInputTokens], [true, 1000]);
    assert.deepEqual([u.sessionId, u.conversationId], ['s-9', 'conv-42']);
    assert.deepEqual(u.identity.userId, { value: 'alice', from: 'record' });
    assert.equal(bySpan('b7ad6b7169203332').error, 'ModelStreamErrorException');
    assert.ok(!usages.some((x) => x.spanId === 'b7ad6b7169203333'), 'openai: not a Bedrock call');
  });

  test('legacy names: prompt/completion tokens, aws_bedrock, cache semantics unknown', () => {
    const u = bySpan('00f067aa0ba902b7');
    assert.deepEqual([u.provider, u.bedrock, u.naming], ['aws_bedrock', true, 'legacy']);
    assert.deepEqual(u.tokens, {
      input: 900,
      output: 120,
      cacheRead: 400,
      cacheCreation: null,
      reasoning: null,
    });
    assert.deepEqual([u.inputIncludesCache, u.uncachedInputTokens], [null, null]);
    assert.deepEqual(u.dimensions, { project: { value: 'atlas', from: 'resource' } });
  });
});

describe('gen_ai.client.token.usage', () => {
  test('cumulative exports, a retry and a restart, then a delta app: summed once per token type', () => {
    const results = run('metrics-token-usage', 'json').filter(isMetrics);
    const usages = results.flatMap((r) => r.usages);
    const line = (u: GenAiMetricUsage) =>
      `${u.serviceName} ${u.tokenType} ${u.tokenCount} tokens ${u.operationCount} ops ${u.outcome}`;
    assert.deepEqual(usages.map(line), [
      'ticket-triage input 3000 tokens 2 ops first',
      'ticket-triage output 250 tokens 2 ops first',
      'ticket-triage input 4000 tokens 1 ops increase',
      'ticket-triage output 300 tokens 1 ops increase',
      'ticket-triage input 700 tokens 1 ops restart',
      'ticket-triage output 70 tokens 1 ops restart',
      'batch-summariser input 200 tokens 2 ops delta',
      'batch-summariser output 30 tokens 2 ops delta',
    ]);
    assert.deepEqual(
      results.map((r) => [r.counts.duplicate, r.counts.otherMetrics]),
      [
        [0, 1],
        [0, 1],
        [2, 1],
        [0, 1],
        [0, 1],
      ],
    );
    const first = usages[0];
    assert.ok(first !== undefined);
    assert.deepEqual(first.tokens, {
      input: 3000,
      output: null,
      cacheRead: null,
      cacheCreation: null,
      reasoning: null,
    });
    assert.deepEqual(
      [first.provider, first.bedrock, first.model],
      ['aws.bedrock', true, 'us.anthropic.claude-haiku-4-5-20251001-v1:0'],
    );
  });

  test('intervals: input and output of the same calls together, over the span the increase covers', () => {
    const results = run('metrics-token-usage', 'json').filter(isMetrics);
    const intervals = results.flatMap((r) => genAiMetricIntervals(r.usages));
    const iso = (ms: number) => new Date(ms).toISOString().slice(11, 19);
    assert.deepEqual(
      intervals.map(
        (i) =>
          `${i.serviceName} ${iso(i.from)}-${iso(i.at)} ${i.inputTokens}/${i.outputTokens} ${i.operations} ops`,
      ),
      [
        // First point of a cumulative stream: everything since its start time.
        'ticket-triage 02:13:20-02:14:20 3000/250 2 ops',
        // An increase covers the time since the previous point, not since the stream's start.
        'ticket-triage 02:14:20-02:15:20 4000/300 1 ops',
        // A restart (a new start time): everything since the new start.
        'ticket-triage 03:13:20-03:14:20 700/70 1 ops',
        'batch-summariser 03:12:20-03:13:20 200/30 2 ops',
      ],
    );
    assert.equal(new Set(intervals.map((i) => i.key)).size, intervals.length);
    // The key is the interval's: the same points read again (a retry of a delta export) have the same key.
    const again = run('metrics-token-usage', 'json')
      .filter(isMetrics)
      .flatMap((r) => genAiMetricIntervals(r.usages));
    assert.deepEqual(
      again.map((i) => i.key),
      intervals.map((i) => i.key),
    );
    // A point of a type the conventions do not define is kept aside, never added to input or output.
    const [u] = results[0]?.usages ?? [];
    assert.ok(u !== undefined);
    const [odd] = genAiMetricIntervals([
      { ...u, tokenType: 'audio', tokenCount: 9, tokens: { ...u.tokens, input: null } },
    ]);
    assert.deepEqual([odd?.inputTokens, odd?.outputTokens, odd?.otherTokens], [0, 0, { audio: 9 }]);
  });
});

const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
const encode = (body: unknown) => new TextEncoder().encode(JSON.stringify(body));
const MODEL = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';
/** One `gen_ai.client.token.usage` histogram point of one call, in one minute. */
const point = (type: string, sum: number, provider = 'aws.bedrock') => ({
  attributes: [
    str('gen_ai.provider.name', provider),
    str('gen_ai.request.model', MODEL),
    str('gen_ai.token.type', type),
  ],
  startTimeUnixNano: '1795400000000000000',
  timeUnixNano: '1795400060000000000',
  count: '1',
  sum,
});

describe('the AWS account (cloud.account.id)', () => {
  test('spans: the resource’s, the span’s winning; anything but 12 digits ignored', () => {
    const span = (id: string, attributes: ReturnType<typeof str>[]) => ({
      traceId: '5b8efff798038103d269b633813fc60c',
      spanId: id,
      name: `chat ${MODEL}`,
      startTimeUnixNano: '1795400000000000000',
      endTimeUnixNano: '1795400001000000000',
      attributes: [
        str('gen_ai.provider.name', 'aws.bedrock'),
        str('gen_ai.request.model', MODEL),
        { key: 'gen_ai.usage.input_tokens', value: { intValue: 10 } },
        ...attributes,
      ],
    });
    const resourceSpans = (
      resource: ReturnType<typeof str>[],
      spans: ReturnType<typeof span>[],
    ) => ({
      resource: { attributes: resource },
      scopeSpans: [{ scope: { name: 'my-genai' }, spans }],
    });
    const request = decoded<TracesRequest>(
      'traces',
      'json',
      encode({
        resourceSpans: [
          resourceSpans(
            [str('cloud.provider', 'aws'), str('cloud.account.id', '111122223333')],
            [
              span('0000000000000001', []),
              span('0000000000000002', [str('cloud.account.id', '444455556666')]),
              span('0000000000000003', [str('cloud.account.id', '4444-5555-6666')]),
            ],
          ),
          resourceSpans([str('cloud.account.id', 'my-account')], [span('0000000000000004', [])]),
          resourceSpans([], [span('0000000000000005', [])]),
        ],
      }),
    );
    assert.deepEqual(
      interpretGenAiTraces(request).usages.map((u) => [u.spanId.slice(-1), u.awsAccount]),
      [
        ['1', '111122223333'],
        ['2', '444455556666'],
        ['3', '111122223333'],
        ['4', null],
        ['5', null],
      ],
    );
  });

  test('token-usage metric: a sum that is no token count is a problem, another provider is left out', () => {
    const request = decoded<MetricsRequest>(
      'metrics',
      'json',
      encode({
        resourceMetrics: [
          {
            scopeMetrics: [
              {
                scope: { name: 'my-genai' },
                metrics: [
                  {
                    name: 'gen_ai.client.token.usage',
                    histogram: {
                      aggregationTemporality: 1,
                      dataPoints: [
                        point('input', 1000.5),
                        point('output', 1e30),
                        point('input', 100),
                        point('input', 7000, 'openai'),
                      ],
                    },
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const { usages, problems, counts } = interpretGenAiMetrics(
      request,
      {},
      new CumulativeTracker(),
    );
    assert.deepEqual(
      usages.map((u) => u.tokenCount),
      [100],
    );
    assert.equal(counts.otherProvider, 1);
    assert.equal(problems.filter((p) => /is not a token count/.test(p)).length, 2);
  });

  test('token-usage metric: the resource’s account, carried by the interval', () => {
    const request = decoded<MetricsRequest>(
      'metrics',
      'json',
      encode({
        resourceMetrics: [
          {
            resource: {
              attributes: [str('service.name', 'app'), str('cloud.account.id', '111122223333')],
            },
            scopeMetrics: [
              {
                scope: { name: 'my-genai' },
                metrics: [
                  {
                    name: 'gen_ai.client.token.usage',
                    histogram: {
                      aggregationTemporality: 1,
                      dataPoints: [point('input', 100), point('output', 10)],
                    },
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const { usages } = interpretGenAiMetrics(request, {}, new CumulativeTracker());
    assert.deepEqual(
      usages.map((u) => u.awsAccount),
      ['111122223333', '111122223333'],
    );
    assert.deepEqual(
      genAiMetricIntervals(usages).map((i) => [i.inputTokens, i.outputTokens, i.awsAccount]),
      [[100, 10, '111122223333']],
    );
  });
});

describe('GenAI from the OpenTelemetry JS SDK, both encodings', () => {
  const resource = resourceFromAttributes({ 'service.name': 'sdk-app', team: 'sdk-team' });

  test('spans', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource,
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    provider
      .getTracer('my-genai')
      .startSpan('chat us.amazon.nova-pro-v1:0', {
        attributes: {
          'gen_ai.provider.name': 'aws.bedrock',
          'gen_ai.request.model': 'us.amazon.nova-pro-v1:0',
          'gen_ai.usage.input_tokens': 321,
          'gen_ai.usage.output_tokens': 45,
        },
      })
      .end();
    const spans = exporter.getFinishedSpans();
    const read = (encoding: 'json' | 'protobuf') => {
      const body =
        encoding === 'json'
          ? JsonTraceSerializer.serializeRequest(spans)
          : ProtobufTraceSerializer.serializeRequest(spans);
      return interpretGenAiTraces(
        decoded<TracesRequest>('traces', encoding, body ?? new Uint8Array()),
      );
    };
    assert.deepEqual(read('protobuf'), read('json'));
    const [u] = read('json').usages;
    assert.deepEqual(
      [u?.tokens.input, u?.tokens.output, u?.bedrock, u?.model],
      [321, 45, true, 'us.amazon.nova-pro-v1:0'],
    );
    assert.equal(u?.spanId, spans[0]?.spanContext().spanId);
    assert.deepEqual(u?.dimensions, { team: { value: 'sdk-team', from: 'resource' } });
    await provider.shutdown();
  });

  test('the histogram, cumulative (the spec default): increases add up to what was recorded', async () => {
    for (const encoding of ['json', 'protobuf'] as const) {
      const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
      const reader = new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis: 3_600_000,
      });
      const provider = new MeterProvider({ resource, readers: [reader] });
      const histogram = provider.getMeter('my-genai').createHistogram('gen_ai.client.token.usage');
      const attrs = { 'gen_ai.provider.name': 'aws.bedrock', 'gen_ai.token.type': 'input' };
      for (const n of [[100, 200], [50], [], [7]]) {
        for (const v of n) histogram.record(v, attrs);
        await reader.forceFlush();
      }
      const tracker = new CumulativeTracker();
      let tokens = 0;
      let ops = 0;
      for (const batch of exporter.getMetrics()) {
        const body =
          encoding === 'json'
            ? JsonMetricsSerializer.serializeRequest(batch)
            : ProtobufMetricsSerializer.serializeRequest(batch);
        const request = decoded<MetricsRequest>('metrics', encoding, body ?? new Uint8Array());
        for (const u of interpretGenAiMetrics(request, {}, tracker).usages) {
          tokens += u.tokenCount;
          ops += u.operationCount;
        }
      }
      assert.deepEqual([tokens, ops], [357, 4], encoding);
      await provider.shutdown();
    }
  });
});
