/**
 * An AttributedRecord as one NDJSON line for DuckDB's `read_json`, and the SQL that reads it back. One table of
 * columns drives both, so they cannot drift. Keys are short (`c0`, `c1`…) and values pre-encoded: this runs once
 * per ingested record.
 */
import { closeSync, openSync } from 'node:fs';
import { type AttributedRecord, writeAll } from '../../core/index.ts';
import type { EncodedUsage } from '../store.ts';

type Encode = (r: AttributedRecord) => string;

declare global {
  // ES2024, in Node 20 (V8 11.3) though not in the ES2023 lib this project compiles against.
  interface String {
    isWellFormed(): boolean;
    toWellFormed(): string;
  }
}

/**
 * A string as JSON that DuckDB reads: a lone surrogate (`\ud800`, valid JSON, which DuckDB's reader refuses along
 * with the whole batch) becomes U+FFFD, the same on every ingest of the same record.
 */
const s = (v: string): string => JSON.stringify(v.isWellFormed() ? v : v.toWellFormed());
const str = (v: string | null): string => (v === null ? 'null' : s(v));
/** An INTEGER column: a value outside its range is unknown (null), not a row DuckDB refuses with its batch. */
const int32 = (v: number | null): string =>
  v === null || v < -2_147_483_648 || v > 2_147_483_647 ? 'null' : String(v);

/** Attribution rules and metadata objects repeat across records: encode each distinct object once. */
const encoded = new WeakMap<object, string>();
function once(v: object): string {
  let text = encoded.get(v);
  if (text === undefined) {
    text = s(JSON.stringify(v));
    encoded.set(v, text);
  }
  return text;
}

/** The request metadata as JSON text in a string, its keys and values well-formed (see `s`). */
function metadata(md: Readonly<Record<string, string>>): string {
  let empty = true;
  let wellFormed = true;
  for (const k in md) {
    empty = false;
    if (!k.isWellFormed() || !(md[k] as string).isWellFormed()) {
      wellFormed = false;
      break;
    }
  }
  if (empty) return 'null';
  if (wellFormed) return s(JSON.stringify(md));
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(md)) clean[k.toWellFormed()] = v.toWellFormed();
  return s(JSON.stringify(clean));
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
  ['latency_ms', 'INTEGER', (r) => int32(r.latencyMs)],
  ['first_byte_ms', 'INTEGER', (r) => int32(r.firstByteMs)],
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

/**
 * The columns whose values change from call to call of one caller, model, Region and day. The others (who, which
 * model and where, which price entry) are shared by many calls: `RowTemplate` encodes them once.
 */
export const PER_CALL_COLUMNS: ReadonlySet<string> = new Set([
  'request_id',
  'ts',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_5m_tokens',
  'cache_write_1h_tokens',
  'latency_ms',
  'first_byte_ms',
  'error_code',
  'cost_pusd',
  'flags',
  'source',
  'source_line',
]);
const PER_CALL_AT = COLUMNS.flatMap(([c], i) => (PER_CALL_COLUMNS.has(c) ? [i] : []));

/**
 * `encodeRow` with the shared columns (not PER_CALL_COLUMNS) encoded once, from the record the template is built
 * from: `encode(r)` equals `encodeRow(r)` for every record whose shared columns equal that one's. The gateway
 * encodes each call this way on its event loop (~1 µs instead of ~4).
 */
export class RowTemplate {
  readonly #parts: readonly string[];

  constructor(shared: AttributedRecord) {
    this.#parts = COLUMNS.map(([c, , enc], i) =>
      PER_CALL_COLUMNS.has(c) ? '' : (KEYS[i] as string) + enc(shared),
    );
  }

  encode(r: AttributedRecord): string {
    const parts = this.#parts.slice();
    for (const i of PER_CALL_AT)
      parts[i] = (KEYS[i] as string) + (COLUMNS[i] as (typeof COLUMNS)[number])[2](r);
    return `{${parts.join(',')}}`;
  }
}

/** What `scanRows` found in a batch of encoded rows. */
export interface ScannedRows {
  /** The rows to store: one per request id (its first), newline-terminated. */
  readonly rows: Buffer;
  readonly count: number;
  /** Rows dropped as repeats of a request id earlier in the batch. */
  readonly repeats: number;
  /** Lines that are not rows of this codec (counted, left out). */
  readonly unreadable: number;
  readonly minTs: number;
  readonly maxTs: number;
}

const ROW_START = Buffer.from(`{${KEYS[0]}"`, 'latin1');
const TS_KEY = Buffer.from(`,${KEYS[1]}`, 'latin1');

/**
 * Reads the request id and time of each row of a batch of `encodeRow` lines without parsing them: a row starts with
 * `{"c0":"<request id>","c1":<ms>,`. Inside a JSON string every `"` is escaped, so the first `,"c1":` ends the id.
 * Keeps the first row of each request id, as `UsageEncoder` does for a batch from one source.
 */
export function scanRows(lines: Buffer): ScannedRows {
  const seen = new Set<string>();
  const keep: Buffer[] = [];
  let count = 0;
  let repeats = 0;
  let unreadable = 0;
  let minTs = Number.POSITIVE_INFINITY;
  let maxTs = Number.NEGATIVE_INFINITY;
  let runStart = 0;
  let pos = 0;
  /** Ends the run of kept rows before `at` (the rows between runs were dropped). */
  const cut = (at: number) => {
    if (at > runStart) keep.push(lines.subarray(runStart, at));
  };
  while (pos < lines.length) {
    let nl = lines.indexOf(10, pos);
    if (nl === -1) nl = lines.length;
    if (nl > pos) {
      const ts = lines.indexOf(TS_KEY, pos);
      const end = ts === -1 || ts > nl ? -1 : lines.indexOf(44, ts + TS_KEY.length);
      const ms =
        end === -1 || end > nl
          ? Number.NaN
          : Number(lines.toString('latin1', ts + TS_KEY.length, end));
      const id =
        Number.isSafeInteger(ms) && lines.subarray(pos, pos + ROW_START.length).equals(ROW_START)
          ? lines.toString('latin1', pos + ROW_START.length - 1, ts)
          : null;
      if (id === null || seen.has(id)) {
        if (id === null) unreadable++;
        else repeats++;
        cut(pos);
        runStart = Math.min(nl + 1, lines.length);
      } else {
        seen.add(id);
        count++;
        if (ms < minTs) minTs = ms;
        if (ms > maxTs) maxTs = ms;
      }
    }
    pos = nl + 1;
  }
  cut(lines.length);
  let rows = keep.length === 1 ? (keep[0] as Buffer) : Buffer.concat(keep);
  if (rows.length > 0 && rows[rows.length - 1] !== 10)
    rows = Buffer.concat([rows, Buffer.from('\n')]);
  return count === 0
    ? { rows: Buffer.alloc(0), count: 0, repeats, unreadable, minTs: 0, maxTs: 0 }
    : { rows, count, repeats, unreadable, minTs, maxTs };
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
 * the file.
 */
export function encodeUsage(records: readonly AttributedRecord[], file: string): EncodedUsage {
  const encoder = new UsageEncoder();
  for (const r of records) encoder.add(r);
  return encoder.finish(file);
}

/**
 * `encodeUsage` a record at a time: each row is encoded as its record comes, so the caller need not keep the records
 * (a batch of 5,000 kept alive until the end is copied by the garbage collector from scavenge to scavenge).
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
    this.addRow(r, encodeRow(r));
  }

  /** `add` for a record encoded elsewhere (`RowTemplate`, `createRowEncoder`): `row` is its row. */
  addRow(r: Pick<AttributedRecord, 'requestId' | 'source' | 'occurredAt'>, row: string): void {
    this.#records++;
    const at = this.#rowOf.get(r.requestId);
    if (at !== undefined && !before(r.source, this.#uris[at] as string, this.#lines[at] as number))
      return;
    const i = at ?? this.#rows.length;
    if (at === undefined) this.#rowOf.set(r.requestId, i);
    this.#rows[i] = row;
    this.#uris[i] = r.source.uri;
    this.#lines[i] = r.source.line;
    this.#times[i] = r.occurredAt;
  }

  /** Records added so far, repeats included. */
  get records(): number {
    return this.#records;
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
    writeLines(file, this.#rows);
    return { file, records: this.#records, rows, minTs, maxTs };
  }
}

/** Bytes a write of `writeLines` gathers: well under V8's large-object size, so nothing big lives past a write. */
const WRITE_CHUNK = 64 * 1024;

/**
 * `lines`, each followed by a newline, to `file` through one reused buffer: a batch joined into one string was a
 * ~20 MB string plus its UTF-8 copy at every flush of a row-by-row ingest (~45 MB of its peak RSS).
 */
export function writeLines(file: string, lines: readonly string[]): void {
  const fd = openSync(file, 'w');
  try {
    const buf = Buffer.allocUnsafe(WRITE_CHUNK);
    let used = 0;
    for (const line of lines) {
      // UTF-8 takes at most 3 bytes per UTF-16 unit; a line that may not fit goes after a flush, or alone.
      const most = 3 * line.length + 1;
      if (used + most > WRITE_CHUNK) {
        writeAll(fd, buf.subarray(0, used));
        used = 0;
        if (most > WRITE_CHUNK) {
          writeAll(fd, Buffer.from(`${line}\n`));
          continue;
        }
      }
      used += buf.write(line, used);
      buf[used++] = 0x0a;
    }
    writeAll(fd, buf.subarray(0, used));
  } finally {
    closeSync(fd);
  }
}

function before(a: AttributedRecord['source'], uri: string, line: number): boolean {
  if (a.uri !== uri) return a.uri < uri;
  return a.line < line;
}
