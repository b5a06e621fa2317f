/**
 * The ingest steps of the benchmark, each run in its own child process (child.ts): the JS floor, DuckDB's native
 * NDJSON reader for reference, the real pipeline end to end, and a re-ingest that must skip everything.
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { ingest } from '../src/pipeline/index.ts';
import { INGEST, openRuntime } from '../src/runtime.ts';
import type { Store } from '../src/store/index.ts';

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
  /** Run as with `TOKENLEDGER_LOW_MEMORY=1`. */
  readonly lowMemory?: boolean;
}

/** Every `.json.gz` under the corpus root, in a stable order. */
export function corpusFiles(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.json.gz'))
    .sort()
    .map((f) => join(root, f));
}

/**
 * Read + gunzip (node:zlib) + split lines + `JSON.parse` each: the cheapest JS ingest. Synchronous on purpose: on
 * these 2-vCPU machines async gunzip (16 KB chunks, each pumped by the main thread) overlapping the parse measured
 * 15–90 % slower than gunzipSync, so the synchronous loop is the higher (stricter) floor.
 */
export async function floor(a: IngestArgs): Promise<StepResult> {
  const files = corpusFiles(a.corpus);
  const t0 = performance.now();
  let records = 0;
  let objects = 0;
  for (const file of files) {
    const text = gunzipSync(await readFile(file)).toString('utf8');
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
  const rows = (
    await conn.runAndReadAll('SELECT count(*)::INTEGER AS n FROM raw')
  ).getRowObjectsJS();
  conn.closeSync();
  instance.closeSync();
  return { seconds: (performance.now() - t0) / 1000, records: Number(rows[0]?.n ?? 0) };
}

interface CallTiming {
  calls: number;
  syncSeconds: number;
  storeSeconds: number;
  eachMs: number[];
}

/**
 * Times every store method (and those of its capability objects, e.g. `bulkLogs`, and of the bulk runs and batches it
 * hands out): the synchronous part (JS work
 * before the first await, e.g. serialising a batch) and the time until the promise settles (mostly DuckDB).
 */
function timedStore(store: Store): { store: Store; timing: Record<string, CallTiming> } {
  const timing: Record<string, CallTiming> = {};
  const wrap = <T extends object>(target: T, prefix: string): T =>
    new Proxy(target, {
      get(t, prop, receiver) {
        const v: unknown = Reflect.get(t, prop, receiver);
        const name = `${prefix}${String(prop)}`;
        if (typeof v === 'object' && v !== null && prefix === '') return wrap(v, `${name}.`);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          const t0 = performance.now();
          const out: unknown = v.apply(t, args);
          const t1 = performance.now();
          const done = (): void => {
            const t2 = performance.now();
            timing[name] ??= { calls: 0, syncSeconds: 0, storeSeconds: 0, eachMs: [] };
            const c = timing[name];
            c.calls++;
            c.syncSeconds += (t1 - t0) / 1000;
            c.storeSeconds += (t2 - t1) / 1000;
            c.eachMs.push(Math.round(t2 - t1));
          };
          // A bulk run and its staged batches are timed too (bulkLogs.start.stage, bulkLogs.start.stage.insert).
          const inner = (r: unknown) =>
            typeof r === 'object' && r !== null && /bulkLogs\.start(\.stage)?$/.test(name)
              ? wrap(r, `${name}.`)
              : r;
          if (out instanceof Promise) return out.finally(done).then(inner);
          done();
          return out;
        };
      },
    });
  return { store: wrap(store, ''), timing };
}

/** The real pipeline, as `tokenledger ingest DIR` runs it: runtime (defaults, no config) → ingest → close. */
export async function endToEnd(a: IngestArgs): Promise<StepResult> {
  const t0 = performance.now();
  const rt = await openRuntime({
    db: a.db,
    configPath: undefined,
    env: a.lowMemory ? { ...process.env, TOKENLEDGER_LOW_MEMORY: '1' } : process.env,
    ...INGEST,
  });
  const tOpen = performance.now();
  const { store, timing } = timedStore(rt.store);
  const summary = await ingest(
    {
      store,
      objects: rt.objects,
      catalog: rt.catalog,
      normaliser: rt.normaliser,
      attributor: rt.attributor,
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
    storeCalls: Object.fromEntries(
      Object.entries(timing).map(([k, c]) => [
        k,
        {
          ...c,
          eachMs:
            c.eachMs.length > 8 ? [...c.eachMs.slice(0, 4), '…', ...c.eachMs.slice(-4)] : c.eachMs,
        },
      ]),
    ),
  };
}

export const STEPS = {
  floor,
  duckdb: duckdbNative,
  e2e: endToEnd,
  reingest: endToEnd,
} as const;
