/**
 * GenAI token-usage metrics end to end: the real OpenTelemetry JS SDK and OTLP exporters (http/protobuf cumulative,
 * http/json delta) send `gen_ai.client.token.usage` to the receiver on a real socket, the real sink stores it in a
 * DuckDB ledger, and the reports show each app's tokens and dollars once — for an app that exports only the
 * histogram, and for one that also traces the same calls (its spans count them, the histogram does not).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { tempDir } from '../../test/support/temp-dir.ts';
import { openRuntime, type Runtime } from '../runtime.ts';
import { createOtlpReceiver, toNodeListener } from '../sources/index.ts';
import { createOtlpSink } from './otlp-sink.ts';

const tmp = tempDir();
let rt: Runtime;
let server: Server;
let base = '';
const started = Date.now();

before(async () => {
  rt = await openRuntime({ db: join(tmp.path, 'ledger.duckdb'), configPath: undefined, env: {} });
  const listener = toNodeListener(createOtlpReceiver({ sink: createOtlpSink(rt) }));
  server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rt.close();
  tmp.remove();
});

const HAIKU = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';
const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
/** us. profile prices (list + 10 %), pico-USD per token. */
const RATE = {
  [HAIKU]: { input: 1_100_000n, output: 5_500_000n },
  [SONNET]: { input: 3_300_000n, output: 16_500_000n },
} as const;
const cost = (model: keyof typeof RATE, input: number, output: number) =>
  BigInt(input) * RATE[model].input + BigInt(output) * RATE[model].output;

type Call = readonly [input: number, output: number];

/**
 * One app instrumented as the GenAI conventions say: per call, one `gen_ai.client.token.usage` measurement per
 * token type (and a span when `traced`). Each batch of calls is followed by an export.
 */
async function app(options: {
  service: string;
  team: string;
  model: string;
  protocol: 'http/json' | 'http/protobuf';
  temporality: AggregationTemporality;
  batches: readonly (readonly Call[])[];
  traced?: boolean;
}): Promise<void> {
  const resource = resourceFromAttributes({ 'service.name': options.service, team: options.team });
  const config = {
    url: `${base}/v1/metrics`,
    temporalityPreference: options.temporality,
  };
  const exporter =
    options.protocol === 'http/json'
      ? new JsonMetricExporter(config)
      : new ProtoMetricExporter(config);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meters = new MeterProvider({ resource, readers: [reader] });
  const tracer = new TracerProvider({
    resource,
    spanProcessors: [
      new SimpleSpanProcessor({ exporter: new ProtoTraceExporter({ url: `${base}/v1/traces` }) }),
    ],
  });
  const histogram = meters
    .getMeter(`${options.service}.genai`, '1.0.0')
    .createHistogram('gen_ai.client.token.usage', {
      unit: '{token}',
      description: 'Number of input and output tokens used.',
    });
  const common = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'aws.bedrock',
    'gen_ai.request.model': options.model,
  };
  for (const batch of options.batches) {
    for (const [input, output] of batch) {
      if (options.traced === true) {
        tracer
          .getTracer(`${options.service}.genai`)
          .startSpan(`chat ${options.model}`, {
            attributes: {
              ...common,
              'gen_ai.usage.input_tokens': input,
              'gen_ai.usage.output_tokens': output,
            },
          })
          .end();
      }
      histogram.record(input, { ...common, 'gen_ai.token.type': 'input' });
      histogram.record(output, { ...common, 'gen_ai.token.type': 'output' });
    }
    await tracer.forceFlush();
    await reader.forceFlush();
  }
  // One more export without new calls: a cumulative exporter repeats its totals, a delta one sends nothing new.
  await reader.forceFlush();
  await meters.shutdown();
  await tracer.shutdown();
}

test('token-usage histograms from the real SDK: per app tokens and dollars once, delta and cumulative', async () => {
  // Metrics only, cumulative (the SDKs' default), protobuf: three exports of running totals.
  await app({
    service: 'ticket-triage',
    team: 'support',
    model: HAIKU,
    protocol: 'http/protobuf',
    temporality: AggregationTemporality.CUMULATIVE,
    batches: [
      [
        [1000, 100],
        [2000, 150],
      ],
      [[4000, 300]],
      [],
    ],
  });
  // Metrics only, delta, JSON.
  await app({
    service: 'batch-summariser',
    team: 'docs',
    model: SONNET,
    protocol: 'http/json',
    temporality: AggregationTemporality.DELTA,
    batches: [
      [[300, 40]],
      [
        [200, 10],
        [100, 5],
      ],
    ],
  });
  // Traces and the histogram for the same calls: counted once, from the spans.
  await app({
    service: 'search-assist',
    team: 'search',
    model: SONNET,
    protocol: 'http/protobuf',
    temporality: AggregationTemporality.CUMULATIVE,
    batches: [
      [
        [500, 50],
        [700, 70],
      ],
    ],
    traced: true,
  });

  const usage = await rt.store.telemetry.telemetryReport({
    kind: 'usage',
    groupBy: ['team'],
    where: [],
    since: started - 60_000,
    until: Date.now() + 60_000,
  });
  assert.ok(usage.measure === 'requests');
  assert.deepEqual(
    usage.rows.map((r) => [r.keys.team, r.requests, r.inputTokens, r.outputTokens, r.costPicos]),
    [
      ['support', 3, 7000n, 550n, cost(HAIKU, 7000, 550)],
      ['search', 2, 1200n, 120n, cost(SONNET, 1200, 120)],
      ['docs', 3, 600n, 55n, cost(SONNET, 600, 55)],
    ],
  );
  // No invocation log covers these calls: the ledger counts them client-only, at the same prices.
  const ledger = await rt.store.queryUsage({ groupBy: ['team'], where: [] });
  assert.deepEqual(
    ledger.rows.map((r) => [r.keys.team, r.inputTokens, r.outputTokens, r.costPicos]),
    [
      ['support', 7000n, 550n, cost(HAIKU, 7000, 550)],
      ['search', 1200n, 120n, cost(SONNET, 1200, 120)],
      ['docs', 600n, 55n, cost(SONNET, 600, 55)],
    ],
  );
});
