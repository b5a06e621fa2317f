/**
 * Killing an ingest midway (SIGKILL, a real child process) and running it again gives exactly the totals of one
 * clean run; running it a third time changes nothing.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generateDemo } from '../../src/demo/index.ts';
import { createDuckDbStore } from '../../src/store/index.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = join(import.meta.dirname, '..', '..');
const main = join(root, 'src', 'cli', 'main.ts');
const tmp = tempDir();
after(() => tmp.remove());

function cli(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
  });
}

async function rows(db: string): Promise<number> {
  const store = await createDuckDbStore({ path: db });
  try {
    await store.migrate();
    const { total } = await store.queryUsage({ groupBy: [], where: [] });
    return total.requests;
  } finally {
    await store.close();
  }
}

/**
 * Starts an ingest and kills it once its write-ahead log has grown past `walBytes` (some batches committed, however
 * slowly the machine starts the process), returns how it ended.
 */
function killAfterCommits(
  args: string[],
  db: string,
  walBytes: number,
): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
      cwd: root,
      stdio: 'ignore',
    });
    const poll = setInterval(() => {
      const wal = `${db}.wal`;
      if (existsSync(wal) && statSync(wal).size > walBytes) child.kill('SIGKILL');
    }, 20);
    child.on('exit', (_code, signal) => {
      clearInterval(poll);
      resolve(signal);
    });
  });
}

// The demo logs are generated once and shared by both cases.
const demoLogs = generateDemo({
  outDir: join(tmp.path, 'logs'),
  days: 6,
  seed: 7,
  end: new Date('2026-03-10T00:00:00Z'),
});

const PATHS = [
  ['the DuckDB bulk path', []],
  ['the row-by-row path', ['--row-by-row']],
] as const;

for (const [name, extra] of PATHS) {
  test(`a killed ingest resumes to exactly the totals of one clean run (${name})`, {
    timeout: 180_000,
  }, async () => {
    const demo = await demoLogs;
    const common = [
      '--config',
      demo.configPath,
      '--batch',
      '300',
      '--group',
      '100',
      '--bulk-min-bytes',
      '0',
      ...extra,
    ];
    const report = (db: string) =>
      cli(['report', '--db', db, '--by', 'team,model,day', '--format', 'json']);

    const clean = join(tmp.path, `clean-${extra.length}.duckdb`);
    assert.equal(cli(['ingest', demo.logsRoot, '--db', clean, ...common]).status, 0);
    const expected = report(clean).stdout;
    assert.equal(await rows(clean), demo.records);

    // Kill part-way (once some batches are in the WAL); retry further in if the kill missed every commit.
    let killedDb = '';
    for (const walBytes of [200_000, 600_000, 60_000, 1_500_000]) {
      const db = join(tmp.path, `killed-${extra.length}-${walBytes}.duckdb`);
      const signal = await killAfterCommits(
        ['ingest', demo.logsRoot, '--db', db, ...common],
        db,
        walBytes,
      );
      if (signal !== 'SIGKILL') continue;
      const partial = await rows(db);
      if (partial > 0 && partial < demo.records) {
        killedDb = db;
        break;
      }
    }
    assert.ok(killedDb, 'could not kill the ingest part-way through');

    const resumed = cli(['ingest', demo.logsRoot, '--db', killedDb, '--json', ...common]);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(report(killedDb).stdout, expected);
    assert.equal(await rows(killedDb), demo.records);

    const third = JSON.parse(
      cli(['ingest', demo.logsRoot, '--db', killedDb, '--json', ...common]).stdout,
    ) as { inserted: number };
    assert.equal(third.inserted, 0);
    assert.equal(report(killedDb).stdout, expected);
  });
}
