/**
 * The ingest steps of the benchmark, each run in its own child process (child.ts): the JS floor, DuckDB's native
 * NDJSON reader for reference, the real pipeline end to end, and a re-ingest that must skip everything.
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { ingest } from '../src/pipeline/index.ts';
import { openRuntime } from '../src/runtime.ts';

const gunzipAsync = promisify(gunzip);

export interface StepResult {
  readonly seconds: number;
  readonly records: number;
  readonly [key: string]: unknown;
}

export interface IngestArgs {
  readonly corpus: string;
  readonly records: number;
  readonly db: string;
  readonly work: string;
}

/** Every `.json.gz` under the corpus root, in a stable order. */
export function corpusFiles(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.json.gz'))
    .sort()
    .map((f) => join(root, f));
}

/**
 * Read + gunzip (node:zlib) + split lines + `JSON.parse` each: the cheapest JS ingest. Each file is read whole and
 * gunzipped on the libuv pool while the previous one is parsed, so the floor is as high as plain JS gets.
 */
export async function floor(a: IngestArgs): Promise<StepResult> {
  const files = corpusFiles(a.corpus);
  const t0 = performance.now();
  const load = (f: string | undefined) =>
    f === undefined ? null : readFile(f).then((b) => gunzipAsync(b)).then((b) => b.toString('utf8'));
  let records = 0;
  let objects = 0;
  let next = load(files[0]);
  for (let i = 0; next !== null; i++) {
    const text = await next;
    next = load(files[i + 1]);
    let start = 0;
    while (start < text.length) {
      let nl = text.indexOf('\n', start);
      if (nl < 0) nl = text.length;
      if (nl > start) {
        if (typeof JSON.parse(text.slice(start, nl)) === 'object') objects++;
        records++;
      }
      start = nl + 1;
    }
  }
  return { seconds: (performance.now() - t0) / 1000, records, objects, files: files.length };
}

/** DuckDB's own reader with an explicit schema, into a table in a file: the reference for "parse natively". */
export async function duckdbNative(a: IngestArgs): Promise<StepResult> {
  const files = corpusFiles(a.corpus);
  const t0 = performance.now();
  const instance = await DuckDBInstance.create(a.db, { threads: '2', memory_limit: '512MB' });
  const conn = await instance.connect();
  const list = `[${files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ')}]`;
  await conn.run(`CREATE TABLE raw AS
    SELECT requestId AS request_id, timestamp::TIMESTAMPTZ AS ts, accountId AS account, region, operation,
      modelId AS model_id, input.inputTokenCount AS input_tokens, output.outputTokenCount AS output_tokens,
      coalesce(input.cacheReadInputTokenCount, 0) AS cache_read_tokens,
      coalesce(input.cacheWriteInputTokenCount, 0) AS cache_write_tokens,
      identity.arn AS identity_arn, requestMetadata.team AS team, errorCode AS error_code
    FROM read_json(${list}, format = 'newline_delimited', compression = 'gzip', columns = {
      requestId: 'VARCHAR', timestamp: 'VARCHAR', accountId: 'VARCHAR', region: 'VARCHAR',
      operation: 'VARCHAR', modelId: 'VARCHAR',
      input: 'STRUCT(inputTokenCount BIGINT, cacheReadInputTokenCount BIGINT, cacheWriteInputTokenCount BIGINT)',
      output: 'STRUCT(outputTokenCount BIGINT)', identity: 'STRUCT(arn VARCHAR)',
      requestMetadata: 'STRUCT(team VARCHAR)', errorCode: 'VARCHAR'})`);
  const rows = (await conn.runAndReadAll('SELECT count(*)::INTEGER AS n FROM raw')).getRowObjectsJS();
  conn.closeSync();
  instance.closeSync();
  return { seconds: (performance.now() - t0) / 1000, records: Number(rows[0]?.n ?? 0) };
}

/** The real pipeline, as `tokenledger ingest DIR` runs it: runtime (defaults, no config) → ingest → close. */
export async function endToEnd(a: IngestArgs): Promise<StepResult> {
  const t0 = performance.now();
  const rt = await openRuntime({ db: a.db, configPath: undefined, env: process.env });
  const tOpen = performance.now();
  const summary = await ingest(
    {
      store: rt.store,
      objects: rt.objects,
      catalog: rt.catalog,
      normaliser: rt.normaliser,
      attributor: rt.attributor,
      log: { info() {}, warn() {}, error() {} },
    },
    { paths: [a.corpus], format: 'auto', rejectsFile: join(a.work, 'rejects.jsonl') },
  );
  const tIngest = performance.now();
  await rt.close();
  const t1 = performance.now();
  return {
    seconds: (t1 - t0) / 1000,
    records: summary.read,
    openSeconds: (tOpen - t0) / 1000,
    ingestSeconds: (tIngest - tOpen) / 1000,
    closeSeconds: (t1 - tIngest) / 1000,
    summary,
  };
}

export const STEPS = {
  floor,
  duckdb: duckdbNative,
  e2e: endToEnd,
  reingest: endToEnd,
} as const;
