/**
 * Lines → records, for every shape invocation logs arrive in: NDJSON records (S3 delivery, `.jsonl`), CloudWatch
 * Logs `FilterLogEvents` responses and decoded subscription payloads (one JSON document per line, or a whole
 * pretty-printed document), CloudWatch Logs S3 exports (`<ISO time> <json>` lines), and pretty-printed single
 * records or arrays of records. Each yields RawUsage or a Reject naming file:line and the reason.
 */
import type { RawUsage, Reject, SourceRef } from '../../core/index.ts';
import { parseRecord } from './parse.ts';

export type Item = { usage: RawUsage } | { reject: Reject };

/**
 * `auto` detects per file. `ndjson`: one record or CloudWatch document per line, never a multi-line document.
 * `cloudwatch`: CloudWatch envelopes, one per line or one pretty-printed document. `json`: the whole file is one
 * JSON document (a record, an array of records, or a CloudWatch envelope).
 */
export const LOG_FORMATS = ['auto', 'ndjson', 'cloudwatch', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const EXCERPT = 160;
const CWL_EXPORT_PREFIX = /^\d{4}-\d{2}-\d{2}T[\d:.]+Z /;

function reject(uri: string, line: number, reason: string, text: string): Item {
  return {
    reject: {
      source: { uri, line },
      reason,
      excerpt: text.length > EXCERPT ? `${text.slice(0, EXCERPT)}…` : text,
    },
  };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Expands one parsed JSON value (a record, a CloudWatch document, or an array of records) into items. */
export function itemsFromValue(value: unknown, ref: SourceRef, text: string, out: Item[]): void {
  if (Array.isArray(value)) {
    if (!value.every(isObj)) {
      out.push(reject(ref.uri, ref.line, 'a JSON array of non-objects, expected a record', text));
      return;
    }
    for (const v of value) itemsFromValue(v, ref, text, out);
    return;
  }
  if (isObj(value) && !('schemaType' in value)) {
    const events = Array.isArray(value.logEvents)
      ? value.logEvents
      : Array.isArray(value.events)
        ? value.events
        : null;
    if (events !== null) {
      if (value.messageType === 'CONTROL_MESSAGE') return; // CloudWatch's subscription health check, not data
      events.forEach((ev: unknown, i: number) => {
        const message = isObj(ev) ? ev.message : undefined;
        if (typeof message !== 'string') {
          out.push(
            reject(
              ref.uri,
              ref.line,
              `event ${i + 1} has no string "message"`,
              JSON.stringify(ev) ?? '',
            ),
          );
          return;
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(message);
        } catch (e: unknown) {
          out.push(
            reject(
              ref.uri,
              ref.line,
              `event ${i + 1}: malformed JSON in message (${(e as Error).message})`,
              message,
            ),
          );
          return;
        }
        const r = parseRecord(parsed, ref);
        out.push(
          r.ok
            ? { usage: r.usage }
            : reject(ref.uri, ref.line, `event ${i + 1}: ${r.reason}`, message),
        );
      });
      return;
    }
  }
  const r = parseRecord(value, ref);
  out.push(r.ok ? { usage: r.usage } : reject(ref.uri, ref.line, r.reason, text));
}

/** One line of an NDJSON-like file. Blank lines are skipped. */
export function itemsFromLine(text: string, uri: string, line: number, out: Item[]): void {
  let json = text;
  if (json.length === 0 || json.trim().length === 0) return;
  const first = json.charCodeAt(0);
  if (first !== 123 /* { */ && first !== 91 /* [ */) {
    const m = CWL_EXPORT_PREFIX.exec(json);
    if (m !== null) json = json.slice(m[0].length);
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (e: unknown) {
    // JSON documents one after another with nothing between them, as Firehose writes CloudWatch Logs subscription
    // payloads to S3 unless told to add newlines: each is read (sharing the line's number).
    const documents = concatenatedDocuments(json);
    if (documents !== null) {
      documents.forEach((d, i) => {
        const first = out.length;
        itemsFromValue(d.value, { uri, line }, d.text, out);
        // A reject names its document: rejects are kept by file, line and reason.
        for (let k = first; k < out.length; k++) {
          const item = out[k] as Item;
          if ('reject' in item)
            out[k] = {
              reject: { ...item.reject, reason: `document ${i + 1}: ${item.reject.reason}` },
            };
        }
      });
      return;
    }
    out.push(reject(uri, line, `malformed JSON (${(e as Error).message})`, text));
    return;
  }
  itemsFromValue(value, { uri, line }, text, out);
}

/**
 * The JSON objects of a line that holds several one after another (`{…}{…}`, whitespace allowed between them), or
 * null when it is not that: any part that does not parse, or a single object (a line that is malformed as it is).
 */
function concatenatedDocuments(json: string): { value: unknown; text: string }[] | null {
  const parts: string[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (depth === 0) {
        if (c !== 123) return null;
        start = i;
      }
      depth++;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
      if (depth < 0) return null;
      if (depth === 0) parts.push(json.slice(start, i + 1));
    } else if (depth === 0 && c !== 32 && c !== 9 && c !== 13 && c !== 10) return null;
  }
  if (depth !== 0 || inString || parts.length < 2) return null;
  try {
    return parts.map((text) => ({ value: JSON.parse(text) as unknown, text }));
  } catch {
    return null;
  }
}

/** A file that is not invocation logs but another input tokenledger reads, and the command that reads it. */
export interface OtherInput {
  readonly kind: 'cur' | 'cloudwatch-metrics' | 'otlp';
  /** What the file is, for people. */
  readonly what: string;
  /** How to read it instead. */
  readonly use: string;
}

const CUR: OtherInput = {
  kind: 'cur',
  what: 'CUR export',
  use: 'tokenledger ingest-cur PATH',
};
const METRICS: OtherInput = {
  kind: 'cloudwatch-metrics',
  what: 'CloudWatch metrics (GetMetricData)',
  use: 'tokenledger ingest-metrics PATH',
};
const OTLP: OtherInput = {
  kind: 'otlp',
  what: 'OTLP telemetry',
  use: 'POST it to tokenledger collect (OTLP/HTTP)',
};
/** The first line of a CUR CSV (CUR 2.0 `bill_…`/`line_item_…` columns; legacy `identity/LineItemId`, `bill/…`). */
const CUR_HEADER =
  /^\uFEFF?"?(identity_line_item_id|identity_time_interval|bill_[a-z_]+|line_item_[a-z_]+|identity\/LineItemId|bill\/[A-Za-z]+|lineItem\/[A-Za-z]+)"?,/;

/**
 * The other input a file's first line (or its whole JSON document) shows it to be, or null: CUR CSV headers and
 * manifests, saved GetMetricData documents, OTLP/JSON exports. Only asked of a first line that is not a record.
 */
export function otherInputOfLine(text: string): OtherInput | null {
  if (CUR_HEADER.test(text)) return CUR;
  try {
    return otherInputOfValue(JSON.parse(text));
  } catch {
    return null;
  }
}

export function otherInputOfValue(value: unknown): OtherInput | null {
  if (!isObj(value) || 'schemaType' in value) return null;
  if ('MetricDataResults' in value || 'MetricDataQueries' in value) return METRICS;
  if ('resourceMetrics' in value || 'resourceLogs' in value || 'resourceSpans' in value)
    return OTLP;
  // Legacy CUR manifests list their `reportKeys`; CUR 2.0 (Data Exports) ones name their `exportArn`.
  if ('reportKeys' in value || (isObj(value.billingPeriod) && 'exportArn' in value)) return CUR;
  return null;
}
