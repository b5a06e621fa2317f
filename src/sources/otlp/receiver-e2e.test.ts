/**
 * The receiver on a real `node:http` socket, fed by the real OpenTelemetry JS SDKs and OTLP exporters (http/json and
 * http/protobuf, with and without gzip) — what Claude Code itself uses to export.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  createOtlpReceiver,
  type OtlpBatch,
  type OtlpSignal,
  type OtlpSink,
  toNodeListener,
} from './receiver.ts';

const TOKEN = 'e2e-otlp-token-4f1c';
const SUCCESS = 0; // ExportResultCode.SUCCESS
const resource = resourceFromAttributes({
  'service.name': 'claude-code',
  'service.version': '2.1.328',
  team: 'payments',
});
/** The standard attributes Claude Code puts on every data point and event (telemetry.md §1.1, §2.2). */
const STANDARD = {
  'user.id': 'install-1',
  'session.id': 'eec3945a-0000-4000-8000-000000000001',
  'organization.id': 'org-1',
  'user.email': 'ana@example.com',
  'user.account_uuid': 'acct-1',
  'terminal.type': 'vscode',
};

interface ExportResultLike {
  readonly code: number;
  readonly error?: Error;
}
type ResultCallback = (result: ExportResultLike) => void;
interface Exporter {
  export(items: never, resultCallback: ResultCallback): void;
}

/** Records each export's result, so a test sees what the exporter concluded from our response. */
function recording<T extends Exporter>(exporter: T, results: ExportResultLike[]): T {
  const original = exporter.export.bind(exporter);
  (exporter as { export: (items: never, cb: ResultCallback) => void }).export = (items, cb) =>
    original(items, (result) => {
      results.push(result);
      cb(result);
    });
  return exporter;
}

interface Seen {
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

class RecordingSink implements OtlpSink {
  readonly batches: OtlpBatch[] = [];
  reply: { rejected: number; message?: string } = { rejected: 0 };
  throwNext: Error | null = null;
  async accept(batch: OtlpBatch): Promise<{ rejected: number; message?: string }> {
    this.batches.push(batch);
    const error = this.throwNext;
    this.throwNext = null;
    if (error !== null) throw error;
    return this.reply;
  }
}

const sink = new RecordingSink();
const seen: Seen[] = [];
const warnings: string[] = [];
let server: Server;
let base = '';

function diagLogger(): DiagLogger {
  const ignore = () => undefined;
  return {
    error: (...args: unknown[]) => warnings.push(args.map(String).join(' ')),
    warn: (...args: unknown[]) => warnings.push(args.map(String).join(' ')),
    info: ignore,
    debug: ignore,
    verbose: ignore,
  };
}

before(async () => {
  diag.setLogger(diagLogger(), DiagLogLevel.WARN);
  const listener = toNodeListener(
    createOtlpReceiver({ sink, bearerToken: TOKEN, maxBodyBytes: 1024 * 1024 }),
  );
  server = createServer((req, res) => {
    seen.push({ method: req.method, path: req.url, headers: { ...req.headers } });
    listener(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  diag.disable();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  sink.batches.length = 0;
  sink.reply = { rejected: 0 };
  seen.length = 0;
  warnings.length = 0;
});

type Protocol = 'http/json' | 'http/protobuf';
type ExporterConfig = NonNullable<ConstructorParameters<typeof JsonLogExporter>[0]>;

function exporterConfig(signal: OtlpSignal, compression: 'gzip' | 'none', token = TOKEN) {
  const headers: Record<string, string> = { 'x-user-email': 'ana@example.com', 'x-team-id': 't-7' };
  if (token !== '') headers.Authorization = `Bearer ${token}`;
  // The exporters type `compression` as an enum of a package we do not depend on directly; its values are these strings.
  const algorithm = compression as NonNullable<ExporterConfig['compression']>;
  return { url: `${base}/v1/${signal}`, headers, compression: algorithm, timeoutMillis: 5000 };
}

/** Emits one Claude Code-like item of `signal` through the real SDK + exporter and force-flushes. */
async function send(
  signal: OtlpSignal,
  protocol: Protocol,
  compression: 'gzip' | 'none',
  token = TOKEN,
): Promise<ExportResultLike[]> {
  const results: ExportResultLike[] = [];
  const config = exporterConfig(signal, compression, token);
  const json = protocol === 'http/json';
  if (signal === 'logs') {
    const exporter = json ? new JsonLogExporter(config) : new ProtoLogExporter(config);
    const provider = new LoggerProvider({
      resource,
      processors: [new SimpleLogRecordProcessor({ exporter: recording(exporter, results) })],
    });
    provider.getLogger('com.anthropic.claude_code.events', '2.1.328').emit({
      body: 'claude_code.api_request',
      attributes: { ...STANDARD, 'event.name': 'api_request', input_tokens: 2, cost_usd: 0.0027 },
    });
    await flushAndShutdown(provider);
  } else if (signal === 'metrics') {
    const options = { ...config, temporalityPreference: AggregationTemporality.DELTA };
    const exporter = json ? new JsonMetricExporter(options) : new ProtoMetricExporter(options);
    const reader = new PeriodicExportingMetricReader({
      exporter: recording(exporter, results),
      exportIntervalMillis: 3_600_000,
    });
    const provider = new MeterProvider({ resource, readers: [reader] });
    const counter = provider
      .getMeter('com.anthropic.claude_code', '2.1.328')
      .createCounter('claude_code.token.usage', {
        unit: 'tokens',
        description: 'Number of tokens used',
      });
    const point = { ...STANDARD, model: 'us.anthropic.claude-opus-5-5', query_source: 'main' };
    counter.add(9, { ...point, type: 'input' });
    counter.add(2067, { ...point, type: 'cacheRead' });
    await flushAndShutdown(provider);
  } else {
    const exporter = json ? new JsonTraceExporter(config) : new ProtoTraceExporter(config);
    const provider = new TracerProvider({
      resource,
      spanProcessors: [new SimpleSpanProcessor({ exporter: recording(exporter, results) })],
    });
    provider
      .getTracer('com.anthropic.claude_code', '2.1.328')
      .startSpan('claude_code.llm_request', { attributes: { ...STANDARD, model: 'x' } })
      .end();
    await flushAndShutdown(provider);
  }
  return results;
}

/** Some SDK processors reject forceFlush when an export failed; the recorded results say what happened. */
async function flushAndShutdown(provider: {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}): Promise<void> {
  await provider.forceFlush().catch((e: unknown) => warnings.push(`forceFlush: ${String(e)}`));
  await provider.shutdown();
}

type Json = Record<string, unknown>;
const at = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], value);

function checkJson(signal: OtlpSignal, body: Json): void {
  if (signal === 'logs') {
    const record = at(body, 'resourceLogs', 0, 'scopeLogs', 0, 'logRecords', 0);
    assert.deepEqual(at(record, 'body'), { stringValue: 'claude_code.api_request' });
    assert.equal(
      at(body, 'resourceLogs', 0, 'scopeLogs', 0, 'scope', 'name'),
      'com.anthropic.claude_code.events',
    );
  } else if (signal === 'metrics') {
    const metric = at(body, 'resourceMetrics', 0, 'scopeMetrics', 0, 'metrics', 0);
    assert.equal(at(metric, 'name'), 'claude_code.token.usage');
    assert.equal(at(metric, 'unit'), 'tokens');
    assert.equal(at(metric, 'sum', 'aggregationTemporality'), 1); // DELTA
    assert.equal(at(metric, 'sum', 'isMonotonic'), true);
    const points = at(metric, 'sum', 'dataPoints') as Json[];
    assert.deepEqual(points.map((p) => p.asDouble).sort(), [2067, 9]);
  } else {
    const span = at(body, 'resourceSpans', 0, 'scopeSpans', 0, 'spans', 0);
    assert.equal(at(span, 'name'), 'claude_code.llm_request');
    assert.match(String(at(span, 'traceId')), /^[0-9a-f]{32}$/);
  }
}

const NAME: Record<OtlpSignal, string> = {
  logs: 'claude_code.api_request',
  metrics: 'claude_code.token.usage',
  traces: 'claude_code.llm_request',
};

describe('OTLP receiver ← real OpenTelemetry JS exporters over node:http', () => {
  for (const signal of ['logs', 'metrics', 'traces'] as const) {
    for (const protocol of ['http/json', 'http/protobuf'] as const) {
      for (const compression of ['none', 'gzip'] as const) {
        test(`${signal} ${protocol} compression=${compression}`, async () => {
          const results = await send(signal, protocol, compression);
          assert.ok(results.length >= 1, 'the exporter exported');
          assert.deepEqual(
            results.map((r) => r.code),
            results.map(() => SUCCESS),
            String(results.find((r) => r.error)?.error),
          );

          const encoding = protocol === 'http/json' ? 'json' : 'protobuf';
          const request = seen[0];
          assert.equal(request?.method, 'POST');
          assert.equal(request?.path, `/v1/${signal}`);
          assert.equal(
            request?.headers['content-type'],
            encoding === 'json' ? 'application/json' : 'application/x-protobuf',
          );
          assert.equal(
            request?.headers['content-encoding'],
            compression === 'gzip' ? 'gzip' : undefined,
          );
          // The exporters stream the body: chunked, no Content-Length (as Claude Code 2.1.191–2.1.211 did).
          assert.equal(request?.headers['transfer-encoding'], 'chunked');
          assert.equal(request?.headers['content-length'], undefined);

          const batch = sink.batches[0];
          assert.ok(batch !== undefined, 'the sink received a batch');
          assert.equal(batch.signal, signal);
          assert.equal(batch.encoding, encoding);
          assert.equal(batch.headers['x-user-email'], 'ana@example.com');
          assert.equal(batch.headers['x-team-id'], 't-7');
          assert.match(batch.headers['user-agent'] ?? '', /^OTel-OTLP-Exporter-JavaScript\//);
          assert.equal(batch.headers.authorization, undefined);
          assert.ok(!JSON.stringify(batch.headers).includes(TOKEN));
          assert.ok(batch.body.byteLength > 0);
          if (encoding === 'json') {
            checkJson(signal, JSON.parse(new TextDecoder().decode(batch.body)) as Json);
          } else {
            assert.equal(batch.body[0], 0x0a, 'field 1 (resource_*), length-delimited');
            assert.ok(Buffer.from(batch.body).includes(NAME[signal]), 'the item is in the body');
          }
        });
      }
    }
  }

  for (const protocol of ['http/json', 'http/protobuf'] as const) {
    test(`partial success reaches the ${protocol} exporter's own response decoder`, async () => {
      sink.reply = { rejected: 2, message: 'two points without a model' };
      const results = await send('metrics', protocol, 'gzip');
      assert.equal(results[0]?.code, SUCCESS, 'a partial success is a success, never retried');
      const warning = warnings.find((w) => w.startsWith('Received Partial Success response:'));
      assert.ok(warning !== undefined, warnings.join('\n'));
      const decoded = JSON.parse(warning.slice(warning.indexOf('{'))) as Json;
      assert.equal(Number(decoded.rejectedDataPoints), 2);
      assert.equal(decoded.errorMessage, 'two points without a model');
      assert.equal(seen.length, 1, 'not retried');
    });
  }

  test('a wrong or missing token → 401: the exporter fails without retrying; nothing is stored', async () => {
    for (const token of ['wrong-token', '']) {
      seen.length = 0;
      const results = await send('logs', 'http/protobuf', 'none', token);
      assert.equal(results[0]?.code, 1); // FAILED
      assert.match(String(results[0]?.error), /Unauthorized|401/);
      assert.equal(seen.length, 1);
    }
    assert.equal(sink.batches.length, 0);
  });

  test('a client that disconnects mid-upload does not disturb the server', async () => {
    await new Promise<void>((resolve) => {
      const req = request(`${base}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      });
      req.on('error', () => resolve());
      req.write('{"resourceLogs":[', () => setTimeout(() => req.destroy(), 20));
    });
    const results = await send('logs', 'http/json', 'gzip');
    assert.equal(results[0]?.code, SUCCESS);
    assert.equal(sink.batches.length, 1);
  });

  test('an oversize chunked upload → 413 on the socket, and the server keeps serving', async () => {
    const { status, body } = await new Promise<{ status: number | undefined; body: string }>(
      (resolve, reject) => {
        const req = request(`${base}/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        });
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode, body: text }));
        });
        req.on('error', reject);
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let sent = 0;
        const pump = (): void => {
          while (sent < 4 * 1024 * 1024) {
            sent += chunk.length;
            if (!req.write(chunk)) {
              req.once('drain', pump);
              return;
            }
          }
          req.end();
        };
        pump();
      },
    );
    assert.equal(status, 413);
    assert.deepEqual(JSON.parse(body), { code: 8, message: 'request body exceeds 1048576 bytes' });
    assert.equal(sink.batches.length, 0);

    sink.throwNext = new TypeError('secret internals');
    const failed = await send('traces', 'http/json', 'none');
    assert.equal(failed[0]?.code, 1);
    const results = await send('traces', 'http/json', 'gzip');
    assert.equal(results[0]?.code, SUCCESS);
  });
});
