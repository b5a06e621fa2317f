/**
 * OTLP steps: Claude Code `api_request` events as exporters send them (batches of 512 log records, JSON and
 * protobuf). The floor decodes the same bodies with nothing stored; end to end POSTs them over HTTP to the real
 * collector (receiver + sink + DuckDB) in this process, four requests in flight like an exporter fleet.
 */
import { join } from 'node:path';
import { startCollector } from '../src/cli/commands/collect.ts';
import { openRuntime } from '../src/runtime.ts';
import { decodeOtlp } from '../src/sources/index.ts';
import { otlpProtoRoot } from '../src/sources/otlp/decode.ts';
import type { StepResult } from './steps-ingest.ts';

export interface OtlpArgs {
  readonly events: number;
  readonly work: string;
}

const BATCH = 512;
const SESSIONS = 200;

function logsRequest(batch: number): object {
  const base = Date.UTC(2026, 10, 20, 9);
  const records = [];
  for (let i = 0; i < BATCH; i++) {
    const n = batch * BATCH + i;
    const t = BigInt(base + n * 1000) * 1_000_000n;
    const attr = (key: string, value: object) => ({ key, value });
    records.push({
      timeUnixNano: t.toString(),
      observedTimeUnixNano: t.toString(),
      body: { stringValue: 'claude_code.api_request' },
      attributes: [
        attr('event.name', { stringValue: 'api_request' }),
        attr('event.timestamp', { stringValue: new Date(base + n * 1000).toISOString() }),
        attr('event.sequence', { intValue: String(n) }),
        attr('session.id', { stringValue: `session-${n % SESSIONS}` }),
        attr('prompt.id', { stringValue: `prompt-${n % 5000}` }),
        attr('user.id', { stringValue: `install-${n % SESSIONS}` }),
        attr('terminal.type', { stringValue: 'vscode' }),
        attr('model', { stringValue: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' }),
        attr('input_tokens', { intValue: String(50 + (n % 900)) }),
        attr('output_tokens', { intValue: String(200 + (n % 700)) }),
        attr('cache_read_tokens', { intValue: String(20_000 + (n % 9000)) }),
        attr('cache_creation_tokens', { intValue: String(n % 3000) }),
        attr('cost_usd', { doubleValue: 0.0123 }),
        attr('duration_ms', { intValue: String(1500 + (n % 4000)) }),
        attr('request_id', { stringValue: `req-${n}` }),
      ],
    });
  }
  return {
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'claude-code' } },
            { key: 'team', value: { stringValue: 'search' } },
          ],
        },
        scopeLogs: [
          {
            scope: { name: 'com.anthropic.claude_code.events', version: '2.1.330' },
            logRecords: records,
          },
        ],
      },
    ],
  };
}

function bodies(events: number, encoding: 'json' | 'protobuf'): Uint8Array[] {
  const type = otlpProtoRoot().lookupType(
    'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
  );
  const out: Uint8Array[] = [];
  for (let b = 0; b * BATCH < events; b++) {
    const request = logsRequest(b);
    out.push(
      encoding === 'json'
        ? new TextEncoder().encode(JSON.stringify(request))
        : type.encode(type.fromObject(request)).finish(),
    );
  }
  return out;
}

const decodeFloor =
  (encoding: 'json' | 'protobuf') =>
  async (a: OtlpArgs): Promise<StepResult> => {
    const payloads = bodies(a.events, encoding);
    const t0 = performance.now();
    let records = 0;
    for (const body of payloads) {
      const d = decodeOtlp('logs', encoding, body);
      if (!d.ok) throw new Error(d.reason);
      for (const rl of d.request.resourceLogs)
        for (const sl of rl.scopeLogs) records += sl.logRecords.length;
    }
    return {
      seconds: (performance.now() - t0) / 1000,
      records,
      bytes: payloads.reduce((s, p) => s + p.length, 0),
    };
  };

const endToEnd =
  (encoding: 'json' | 'protobuf') =>
  async (a: OtlpArgs): Promise<StepResult> => {
    const payloads = bodies(a.events, encoding);
    const rt = await openRuntime({
      db: join(a.work, `otlp-${encoding}.duckdb`),
      configPath: undefined,
      env: {},
    });
    const collector = await startCollector(rt, { port: 0, host: '127.0.0.1' });
    const contentType = encoding === 'json' ? 'application/json' : 'application/x-protobuf';
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < payloads.length) {
        const body = payloads[next++] as Uint8Array;
        const res = await fetch(`${collector.url}/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': contentType },
          body,
        });
        if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const seconds = (performance.now() - t0) / 1000;
    const sessions = await rt.store.telemetry.sessions(0, Date.UTC(2027, 0, 1), 1_000_000);
    await collector.close();
    await rt.close();
    const stored = sessions.reduce((s, x) => s + x.requests, 0);
    return { seconds, records: stored, sent: payloads.length * BATCH, sessions: sessions.length };
  };

export const OTLP_STEPS = {
  'otlp-floor-json': decodeFloor('json'),
  'otlp-floor-protobuf': decodeFloor('protobuf'),
  'otlp-e2e-json': endToEnd('json'),
  'otlp-e2e-protobuf': endToEnd('protobuf'),
};
