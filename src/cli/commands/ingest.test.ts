/** `tokenledger ingest`: its summary, and a run stopped by Ctrl-C or SIGTERM (a clean stop, exit code 130). */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { AppError } from '../../core/index.ts';
import { type IngestSummary, startSummary } from '../../pipeline/index.ts';
import { openRuntime } from '../../runtime.ts';
import type { ObjectStore } from '../../sources/index.ts';
import type { CliContext } from '../context.ts';
import { formatSummary, runIngest } from './ingest.ts';

const summary = (files: number, logHours: number): IngestSummary =>
  startSummary([
    ...Array.from({ length: files - logHours }, (_, i) => ({ uri: `logs/${i}.json.gz` })),
    ...Array.from({ length: logHours }, (_, i) => ({ uri: `cwlogs://g@2026-03-02T${i}Z` })),
  ]);

describe('the ingest summary names what was read', () => {
  test('files, CloudWatch Logs hours, or both; one of each in the singular', () => {
    const first = (s: IngestSummary) => formatSummary(s).split('\n')[0]?.split(' (')[0];
    assert.equal(first(summary(4, 0)), 'Ingested 4 files');
    assert.equal(first(summary(1, 0)), 'Ingested 1 file');
    assert.equal(first(summary(24, 24)), 'Ingested 24 CloudWatch Logs hours');
    assert.equal(first(summary(1, 1)), 'Ingested 1 CloudWatch Logs hour');
    assert.equal(first(summary(27, 24)), 'Ingested 3 files and 24 CloudWatch Logs hours');
  });
});

const tmp = tempDir('tl-ingest-signal-');
after(() => tmp.remove());

const testdata = join(import.meta.dirname, '..', '..', 'sources', 'invocation-logs', 'testdata');
const line = readFileSync(join(testdata, 'operations.jsonl'), 'utf8').split('\n')[0] as string;

test('SIGTERM mid-run: the run stops as interrupted, and its working files in TMPDIR are gone', async () => {
  const work = join(tmp.path, 'tmpdir');
  mkdirSync(work);
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = work;
  const rt = await openRuntime({ db: join(tmp.path, 'l.duckdb'), configPath: undefined, env: {} });
  const before = new Set(readdirSync(work)); // the store's own working directory, kept until it closes
  let reads = 0;
  // Remote objects (copied to TMPDIR for DuckDB), the signal arriving while the tenth is read.
  const objects: ObjectStore = {
    async *list() {
      for (let i = 0; i < 200; i++)
        yield { uri: `mem://logs/part-${i}.json`, size: 200_000, version: 'v1' };
    },
    read: async (uri) => {
      if (++reads === 10) process.emit('SIGTERM');
      const record = JSON.parse(line) as { requestId: string };
      record.requestId = uri;
      return Readable.from([Buffer.from(`${JSON.stringify(record)}\n`)]);
    },
  };
  const ctx = {
    stderr: Object.assign(process.stderr, {}),
    now: Date.now,
  } as unknown as CliContext;
  try {
    await assert.rejects(
      runIngest(ctx, { ...rt, objects }, ['mem://logs/'], 'auto', join(tmp.path, 'rejects.jsonl'), {
        bulkMinBytes: 0,
      }),
      (e: unknown) => e instanceof AppError && e.code === 'cli.interrupted',
    );
    assert.ok(reads < 200, `stopped early (${reads} reads)`);
    assert.deepEqual(
      readdirSync(work).filter((f) => !before.has(f)),
      [],
      'no working directory left behind',
    );
    assert.equal(process.listenerCount('SIGTERM'), 0, 'the handler is gone with the run');
  } finally {
    await rt.close();
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
});
