/**
 * An ingest that runs out of DuckDB memory (a limit set too low with TOKENLEDGER_DUCKDB_MEMORY) ends with the CLI's
 * error, which names the setting to raise, and exit code, promptly: no stack trace from an unhandled rejection, no
 * hang on the connections it had open.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ensureCorpus } from '../../bench/generate-logs.ts';
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
