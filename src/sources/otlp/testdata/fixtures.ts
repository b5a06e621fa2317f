/**
 * Test support for the OTLP fixtures: each `<case>.json` holds one OTLP/JSON request and each `<case>.jsonl` a
 * sequence of them (one per line, sent in order); `<case>.headers.json` holds the HTTP headers sent with them.
 * Every request is also encoded as binary protobuf with protobufjs from the vendored schema, so each case runs in
 * both encodings.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { otlpProtoRoot } from '../decode.ts';
import type { OtlpSignal } from '../shape.ts';

const REQUEST_TYPES: Readonly<Record<OtlpSignal, string>> = {
  logs: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
  metrics: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
  traces: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
};

const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

export function signalOf(request: unknown): OtlpSignal {
  const keys = Object.keys(request as object);
  if (keys.includes('resourceLogs')) return 'logs';
  if (keys.includes('resourceMetrics')) return 'metrics';
  if (keys.includes('resourceSpans')) return 'traces';
  throw new Error(`not an OTLP request: keys ${keys.join(', ')}`);
}

/** OTLP/JSON ids are hex; protobufjs's `fromObject` wants bytes for them (base64 is its JSON form for bytes). */
function idsToBytes(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(idsToBytes);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [
      k,
      ID_FIELDS.has(k) && typeof x === 'string' ? Buffer.from(x, 'hex') : idsToBytes(x),
    ]),
  );
}

/** The binary protobuf encoding of a parsed OTLP/JSON request (camelCase keys, as the spec writes them). */
export function toProtobuf(signal: OtlpSignal, json: unknown): Uint8Array {
  const type = otlpProtoRoot().lookupType(REQUEST_TYPES[signal]);
  return type.encode(type.fromObject(idsToBytes(json) as Record<string, unknown>)).finish();
}

export interface FixtureCase {
  readonly name: string;
  readonly signal: OtlpSignal;
  /** The requests in order, each in both encodings. */
  readonly requests: readonly { readonly json: Uint8Array; readonly protobuf: Uint8Array }[];
  readonly headers: Readonly<Record<string, string>> | undefined;
}

export function readCases(dir: string): FixtureCase[] {
  const files = readdirSync(dir).sort();
  return files
    .filter(
      (f) => /\.jsonl?$/.test(f) && !f.endsWith('.golden.json') && !f.endsWith('.headers.json'),
    )
    .map((file) => {
      const name = file.replace(/\.jsonl?$/, '');
      const text = readFileSync(join(dir, file), 'utf8');
      const bodies = file.endsWith('.jsonl')
        ? text.split('\n').filter((l) => l.trim() !== '')
        : [text];
      const parsed = bodies.map((b) => JSON.parse(b) as unknown);
      const signal = signalOf(parsed[0]);
      const headersFile = `${name}.headers.json`;
      return {
        name,
        signal,
        requests: bodies.map((body, i) => ({
          json: new TextEncoder().encode(body),
          protobuf: toProtobuf(signalOf(parsed[i]), parsed[i]),
        })),
        headers: files.includes(headersFile)
          ? (JSON.parse(readFileSync(join(dir, headersFile), 'utf8')) as Record<string, string>)
          : undefined,
      };
    });
}

/** Bytes as `base64:…` so goldens stay readable (the golden writer handles bigints itself). */
export function goldenSafe(v: unknown): unknown {
  if (v instanceof Uint8Array) return `base64:${Buffer.from(v).toString('base64')}`;
  if (Array.isArray(v)) return v.map(goldenSafe);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, goldenSafe(x)]));
  }
  return v;
}
