/**
 * An ingest that runs out of DuckDB memory (a limit set too low with TOKENLEDGER_DUCKDB_MEMORY) ends with the CLI's
 * error, which names the setting to raise, and exit code, promptly: no stack trace from an unhandled rejection, no
 * hang on the connections it had open. And an ingest runs with a batch job's small young generation.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ensureCorpus } from '../../bench/generate-logs.ts';
import { HEAP_AT_EXIT } from '../support/heap-at-exit.ts';
import { runProcess } from '../support/process.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = join(import.meta.dirname, '..', '..');
const dir = tempDir('tl-ingest-memory-');
after(() => dir.remove());

test('out of memory mid-ingest: a clear error and exit code 1, not a crash or a hang', async () => {
  const corpus = await ensureCorpus(dir.path, 100_000, () => {});
  for (const limit of ['48MB', '56MB']) {
    const run = await runProcess(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'src/cli/main.ts'),
        'ingest',
        corpus.dir,
        '--db',
        join(dir.path, `ledger-${limit}.duckdb`),
      ],
      {
        cwd: root,
        env: { PATH: process.env.PATH, TOKENLEDGER_DUCKDB_MEMORY: limit },
        timeoutMs: 60_000,
      },
    );
    assert.equal(run.code, 1, `exit code at ${limit} (null: killed at the timeout)\n${run.err}`);
    assert.match(run.err, /^tokenledger ingest: .*Out of Memory/);
    assert.doesNotMatch(run.err, /\n\s+at /, 'no stack trace');
    // What a tokenledger user can do about it, not DuckDB's own advice (SET threads=…).
    assert.match(run.err, /TOKENLEDGER_DUCKDB_MEMORY/);
    assert.doesNotMatch(run.err, /SET threads|Possible solutions/);
  }
});

test("an ingest's young generation stays at V8's initial size; another command's is left alone", async () => {
  const corpus = await ensureCorpus(dir.path, 20_000, () => {});
  const newSpace = async (args: string[]): Promise<number> => {
    const run = await runProcess(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        join(root, 'test/support/heap-at-exit.ts'),
        join(root, 'src/cli/main.ts'),
        ...args,
      ],
      { cwd: root, env: { PATH: process.env.PATH }, timeoutMs: 60_000 },
    );
    assert.equal(run.code, 0, run.err);
    const line = run.err.split('\n').find((l) => l.startsWith(HEAP_AT_EXIT));
    assert.ok(line, run.err);
    return (JSON.parse(line.slice(HEAP_AT_EXIT.length)) as Record<string, number>).new_space ?? 0;
  };
  const db = join(dir.path, 'young.duckdb');
  // Semi-spaces of 1 MB (core/heap.ts smallYoungGeneration; 2 MB here, where tsx's own loading grew them once before the CLI set the
  // flag), not the 2 × 16 MB V8 grows them to while the modules load.
  const ingested = await newSpace(['ingest', corpus.dir, '--db', db]);
  assert.ok(ingested <= 4 * 2 ** 20, `new space after an ingest: ${ingested} bytes`);
  // A report does not get the batch job's heap: loading its modules grows the young generation as usual.
  const reported = await newSpace(['report', '--db', db, '--by', 'team']);
  assert.ok(reported > 8 * 2 ** 20, `new space after a report: ${reported} bytes`);
});
