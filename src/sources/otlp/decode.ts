/**
 * Decodes an OTLP/HTTP request body — `ExportLogsServiceRequest`, `ExportMetricsServiceRequest` or
 * `ExportTraceServiceRequest`, binary protobuf or OTLP/JSON — into the one normalised shape of `shape.ts`.
 * Total: a malformed body never throws, it returns `{ ok: false, reason }` naming what is wrong and where.
 * Protobuf is decoded by protobufjs from the vendored official schema (`proto/`, read once, on first use).
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { ShapeError } from './fields.ts';
import { Normaliser } from './normalise.ts';
import type { OtlpEncoding, OtlpRequestOf, OtlpSignal } from './shape.ts';

export type DecodeResult<S extends OtlpSignal> =
  | { readonly ok: true; readonly request: OtlpRequestOf[S] }
  | { readonly ok: false; readonly reason: string };

/** The schema files, relative to `proto/`; the same depth from `src/sources/otlp/` and `dist/sources/otlp/`. */
const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));

const SERVICE_FILES: Readonly<Record<OtlpSignal, string>> = {
  logs: 'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  metrics: 'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
  traces: 'opentelemetry/proto/collector/trace/v1/trace_service.proto',
};

const REQUEST_TYPES: Readonly<Record<OtlpSignal, string>> = {
  logs: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
  metrics: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
  traces: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
};

let root: protobuf.Root | null = null;

/** The vendored schema, parsed on first use. Throws only if `proto/` is missing: an installation fault. */
export function otlpProtoRoot(): protobuf.Root {
  if (root === null) {
    const r = new protobuf.Root();
    r.resolvePath = (_origin, target) => `${PROTO_DIR}${target}`;
    r.loadSync(Object.values(SERVICE_FILES), { keepCase: false });
    r.resolveAll();
    root = r;
  }
  return root;
}

const TO_OBJECT: protobuf.IConversionOptions = {
  longs: BigInt,
  enums: Number,
  defaults: false,
  arrays: false,
  oneofs: false,
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function parseJson(body: Uint8Array): { ok: true; value: unknown } | { ok: false; reason: string } {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return { ok: false, reason: 'JSON body is not valid UTF-8' };
  }
  if (text.trim() === '') return { ok: false, reason: 'empty JSON body: expected an object' };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, reason: `invalid JSON: ${message(e)}` };
  }
}

function parseProtobuf(
  signal: OtlpSignal,
  body: Uint8Array,
): { ok: true; value: unknown } | { ok: false; reason: string } {
  let type: protobuf.Type;
  try {
    type = otlpProtoRoot().lookupType(REQUEST_TYPES[signal]);
  } catch (e) {
    return { ok: false, reason: `OTLP protobuf schema unavailable (${PROTO_DIR}): ${message(e)}` };
  }
  try {
    return { ok: true, value: type.toObject(type.decode(body), TO_OBJECT) };
  } catch (e) {
    return { ok: false, reason: `invalid protobuf ${type.name}: ${message(e)}` };
  }
}

/**
 * Decodes one request body. `signal` picks the request message (`/v1/logs`, `/v1/metrics`, `/v1/traces`);
 * `encoding` follows the Content-Type (`application/json` or `application/x-protobuf`). An empty protobuf body is
 * the empty request; an empty JSON body is refused (it is not JSON).
 */
export function decodeOtlp<S extends OtlpSignal>(
  signal: S,
  encoding: OtlpEncoding,
  body: Uint8Array,
): DecodeResult<S> {
  const parsed = encoding === 'json' ? parseJson(body) : parseProtobuf(signal, body);
  if (!parsed.ok) return parsed;
  const walk = new Normaliser(encoding === 'json' ? 'json' : 'protobuf');
  try {
    const request =
      signal === 'logs'
        ? walk.logs(parsed.value)
        : signal === 'metrics'
          ? walk.metrics(parsed.value)
          : walk.traces(parsed.value);
    return { ok: true, request: request as OtlpRequestOf[S] };
  } catch (e) {
    if (e instanceof ShapeError) return { ok: false, reason: e.message };
    // A stack overflow or an engine limit on a hostile body: still an answer, never an exception.
    return { ok: false, reason: `cannot read ${signal} request at ${walk.where()}: ${message(e)}` };
  }
}
