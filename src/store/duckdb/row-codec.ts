/**
 * An AttributedRecord as one NDJSON line for DuckDB's `read_json`, and the SQL that reads it back. One table of
 * columns drives both, so they cannot drift. Keys are short (`c0`, `c1`…) and values pre-encoded: this runs once
 * per ingested record.
 */
import { writeFileSync } from 'node:fs';
import type { AttributedRecord } from '../../core/index.ts';
import type { EncodedUsage } from '../store.ts';

type Encode = (r: AttributedRecord) => string;

const s = JSON.stringify;
const str = (v: string | null): string => (v === null ? 'null' : s(v));
const num = (v: number | null): string => (v === null ? 'null' : String(v));

/** Attribution rules and metadata objects repeat across records: encode each distinct object once. */
const encoded = new WeakMap<object, string>();
function once(v: object): string {
  let text = encoded.get(v);
  if (text === undefined) {
    text = s(s(v));
    encoded.set(v, text);
  }
  return text;
}

function metadata(md: Readonly<Record<string, string>>): string {
  for (const _ in md) return s(s(md));
  return 'null';
}

/** [column, DuckDB type in the NDJSON file, encoder]. Order is the order of the file's keys. */
export const COLUMNS: readonly (readonly [string, string, Encode])[] = [
  ['request_id', 'VARCHAR', (r) => s(r.requestId)],
  ['ts', 'BIGINT', (r) => String(r.occurredAt)],
  ['account', 'VARCHAR', (r) => s(r.accountId)],
  ['region', 'VARCHAR', (r) => s(r.region)],
  ['inference_region', 'VARCHAR', (r) => str(r.inferenceRegion)],
  ['operation', 'VARCHAR', (r) => s(r.operation)],
  ['model_id', 'VARCHAR', (r) => s(r.modelId)],
  ['model', 'VARCHAR', (r) => s(r.model.base)],
  ['profile', 'VARCHAR', (r) => str(r.model.profile)],
  ['scope', 'VARCHAR', (r) => s(r.model.scope)],
  ['geo', 'VARCHAR', (r) => str(r.model.geo)],
  ['model_form', 'VARCHAR', (r) => s(r.model.form)],
  ['tier', 'VARCHAR', (r) => s(r.tier ?? 'standard')],
  ['input_tokens', 'BIGINT', (r) => String(r.tokens.input)],
  ['output_tokens', 'BIGINT', (r) => String(r.tokens.output)],
  ['cache_read_tokens', 'BIGINT', (r) => String(r.tokens.cacheRead)],
  ['cache_write_5m_tokens', 'BIGINT', (r) => String(r.tokens.cacheWrite5m)],
  ['cache_write_1h_tokens', 'BIGINT', (r) => String(r.tokens.cacheWrite1h)],
  ['latency_ms', 'INTEGER', (r) => num(r.latencyMs)],
  ['first_byte_ms', 'INTEGER', (r) => num(r.firstByteMs)],
  ['error_code', 'VARCHAR', (r) => str(r.errorCode)],
  ['identity_arn', 'VARCHAR', (r) => str(r.identityArn)],
  ['team', 'VARCHAR', (r) => s(r.attribution.values.team)],
  ['user', 'VARCHAR', (r) => s(r.attribution.values.user)],
  ['feature', 'VARCHAR', (r) => s(r.attribution.values.feature)],
  ['project', 'VARCHAR', (r) => s(r.attribution.values.project)],
  ['environment', 'VARCHAR', (r) => s(r.attribution.values.environment)],
  ['cost_center', 'VARCHAR', (r) => s(r.attribution.values.cost_center)],
  ['application', 'VARCHAR', (r) => s(r.attribution.values.application)],
  ['session', 'VARCHAR', (r) => s(r.attribution.values.session)],
  ['metadata', 'VARCHAR', (r) => metadata(r.requestMetadata)],
  ['attribution', 'VARCHAR', (r) => once(r.attribution.rules)],
  // Picos travel as a decimal string: JSON numbers are doubles to most readers.
  ['cost_pusd', 'BIGINT', (r) => (r.cost.picos === null ? 'null' : `"${r.cost.picos}"`)],
  ['price_id', 'VARCHAR', (r) => str(r.cost.priceId)],
  ['catalog_hash', 'VARCHAR', (r) => s(r.cost.catalogHash)],
  ['flags', 'VARCHAR', (r) => (r.flags.length === 0 ? '""' : s(r.flags.join(',')))],
  ['source', 'VARCHAR', (r) => s(r.source.uri)],
  ['source_line', 'INTEGER', (r) => String(r.source.line)],
];

const KEYS = COLUMNS.map((_, i) => `"c${i}":`);

/**
 * One row, as a flat string: built from parts joined once. (Concatenating with `+=` leaves a tree of ~80 string
 * pieces that joining a batch's rows must flatten, which measured 18 µs a row against 5 µs this way.)
 */
export function encodeRow(r: AttributedRecord): string {
  const parts = new Array<string>(COLUMNS.length);
  for (let i = 0; i < COLUMNS.length; i++)
    parts[i] = (KEYS[i] as string) + (COLUMNS[i] as (typeof COLUMNS)[number])[2](r);
  return `{${parts.join(',')}}`;
}

const quote = (c: string) => (c === 'user' ? '"user"' : c);

/** `read_json(…, columns = …)` for the encoded file. */
export const READ_COLUMNS = `{${COLUMNS.map(([, type], i) => `'c${i}': '${type}'`).join(', ')}}`;
/** The usage columns, in COLUMNS order, for `INSERT INTO usage (…)`. */
export const INSERT_COLUMNS = COLUMNS.map(([c]) => quote(c)).join(', ');
/** The encoded keys converted back, for `SELECT … FROM read_json(…) s`. */
export const SELECT_COLUMNS = COLUMNS.map(([c], i) =>
  c === 'ts' ? `epoch_ms(s.c${i})` : `s.c${i}`,
).join(', ');
/** The encoded key of request_id, for dedupe. */
export const KEY = { requestId: 'c0' } as const;

/**
 * Encodes a batch into `file` (NDJSON, one row per request id: a repeat inside the batch keeps its first copy by
 * source and line, as the SQL would with a window, which costs more than the rest of the insert). Pure apart from
 * the file: it runs on the gateway's encoder thread as well as in `writeUsage`.
 */
export function encodeUsage(records: readonly AttributedRecord[], file: string): EncodedUsage {
  const encoder = new UsageEncoder();
  for (const r of records) encoder.add(r);
  return encoder.finish(file);
}

/**
 * `encodeUsage` a record at a time: each row is encoded as its record comes, so the caller need not keep the records
 * (the gateway's encoder thread kept a batch of 5,000 alive until the end, and its garbage collector copied them
 * from scavenge to scavenge).
 */
export class UsageEncoder {
  #records = 0;
  readonly #rows: string[] = [];
  /** Per request id, its row; per row, the source, line and time of the record it holds. */
  readonly #rowOf = new Map<string, number>();
  readonly #uris: string[] = [];
  readonly #lines: number[] = [];
  readonly #times: number[] = [];

  add(r: AttributedRecord): void {
    this.#records++;
    const at = this.#rowOf.get(r.requestId);
    if (at !== undefined && !before(r.source, this.#uris[at] as string, this.#lines[at] as number))
      return;
    const i = at ?? this.#rows.length;
    if (at === undefined) this.#rowOf.set(r.requestId, i);
    this.#rows[i] = encodeRow(r);
    this.#uris[i] = r.source.uri;
    this.#lines[i] = r.source.line;
    this.#times[i] = r.occurredAt;
  }

  /** Writes the rows to `file` (nothing when there are none). */
  finish(file: string): EncodedUsage {
    const rows = this.#rows.length;
    if (rows === 0) return { file: null, records: this.#records, rows: 0, minTs: 0, maxTs: 0 };
    let minTs = Number.POSITIVE_INFINITY;
    let maxTs = Number.NEGATIVE_INFINITY;
    for (const t of this.#times) {
      if (t < minTs) minTs = t;
      if (t > maxTs) maxTs = t;
    }
    writeFileSync(file, `${this.#rows.join('\n')}\n`);
    return { file, records: this.#records, rows, minTs, maxTs };
  }
}

function before(a: AttributedRecord['source'], uri: string, line: number): boolean {
  if (a.uri !== uri) return a.uri < uri;
  return a.line < line;
}
