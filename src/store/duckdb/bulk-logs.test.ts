/**
 * The DuckDB bulk loader's run: inserts wait in one transaction until `commitRows` rows or the end of the run, dedupe
 * sees the run's own uncommitted rows, abort rolls back what is not committed (checkpoints included), keys are handed
 * out once per run (a discarded batch takes its keys back), and a row without its maps fails the insert.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { createBulkResolver } from '../../pipeline/bulk-maps.ts';
import { openRuntime, type Runtime } from '../../runtime.ts';
import type { BulkRun, StagedBatch } from '../store.ts';

const tmp = tempDir();
let rt: Runtime;
before(async () => {
  rt = await openRuntime({ db: join(tmp.path, 'ledger.duckdb'), configPath: undefined, env: {} });
});
after(async () => {
  await rt.close();
  tmp.remove();
});

/** An NDJSON file of Converse records with the given request ids. */
function logFile(name: string, ids: readonly string[]): string {
  const file = join(tmp.path, `${name}.json`);
  const line = (id: string) =>
    JSON.stringify({
      schemaType: 'ModelInvocationLog',
      schemaVersion: '1.0',
      timestamp: '2026-06-01T10:00:00Z',
      accountId: '111122223333',
      region: 'us-east-1',
      requestId: id,
      operation: 'Converse',
      modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
      identity: { arn: 'arn:aws:sts::111122223333:assumed-role/dev/alice' },
      input: { inputTokenCount: 1000 },
      output: { outputTokenCount: 100 },
    });
  writeFileSync(file, `${ids.map(line).join('\n')}\n`);
  return file;
}
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

const resolve = () => createBulkResolver(rt);
async function insert(batch: StagedBatch, file: string) {
  return batch.insert(resolve()(batch), [
    { key: `test:${file}`, value: JSON.stringify({ done: true }) },
  ]);
}
async function ledger(): Promise<{ requests: number; checkpoints: number }> {
  const { total } = await rt.store.queryUsage({ groupBy: [], where: [] });
  return {
    requests: total.requests,
    checkpoints: (await rt.store.checkpoints('test:')).size,
  };
}
/** Files staged from where they are. */
const local = (...paths: string[]) => paths.map((path) => ({ path, source: path }));
const start = (commitRows: number): Promise<BulkRun> =>
  rt.store.bulkLogs?.start(rt.attributor.metadataKeys, { commitRows }) ??
  assert.fail('the DuckDB store loads logs in bulk');

test('a run commits after commitRows rows and at the end; dedupe sees its uncommitted rows', async () => {
  const before = await ledger();
  const run = await start(1_000);
  const a = logFile('a', ids('a', 10));
  const first = await run.stage(local(a));
  assert.equal(first.models.length, 1);
  assert.equal((await insert(first, a)).inserted, 10);
  // Not committed yet: another connection (the store's own) sees nothing of it.
  assert.deepEqual(await ledger(), before);

  // The same model, price key and identity: nothing left to resolve.
  const b = logFile('b', [...ids('a', 5), ...ids('b', 5)]);
  const second = await run.stage(local(b));
  assert.deepEqual(
    [second.models.length, second.priceKeys.length, second.attributionKeys.length],
    [0, 0, 0],
  );
  const result = await insert(second, b);
  assert.deepEqual([result.read, result.inserted, result.duplicates], [10, 5, 5]);
  await run.finish();
  assert.deepEqual(await ledger(), {
    requests: before.requests + 15,
    checkpoints: before.checkpoints + 2,
  });

  // commitRows reached: each insert commits at once.
  const eager = await start(1);
  const c = logFile('c', ids('c', 3));
  await insert(await eager.stage(local(c)), c);
  assert.equal((await ledger()).requests, before.requests + 18);
  await eager.finish();
});

test('a group that crosses commitRows is inserted in parts: each transaction ends at exactly commitRows rows', async () => {
  const before = await ledger();
  const run = await start(4);
  const h = logFile('h', ids('h', 10));
  const result = await insert(await run.stage(local(h)), h);
  assert.deepEqual([result.read, result.inserted, result.duplicates], [10, 10, 0]);
  // Two transactions of 4 rows committed; the last 2 rows and the file's checkpoint wait for the next commit.
  assert.deepEqual(await ledger(), { ...before, requests: before.requests + 8 });
  await run.finish();
  assert.deepEqual(await ledger(), {
    requests: before.requests + 10,
    checkpoints: before.checkpoints + 1,
  });
});

test('a group of files: each row keeps its own file as source, each file its checkpoint (the last value given)', async () => {
  const before = await ledger();
  const run = await start(1_000);
  const files = ['m1', 'm2', 'm3'].map((name) => logFile(name, ids(name, 2)));
  // Local copies of S3 objects: the source recorded is the object's URI, not the copy's path.
  const uri = (file: string) => `s3://logs/${file.split('/').pop()}`;
  const batch = await run.stage(files.map((path) => ({ path, source: uri(path) })));
  assert.deepEqual(batch.files.map((f) => f.file).sort(), files.map(uri).sort());
  const result = await batch.insert(resolve()(batch), [
    ...files.map((f) => ({ key: `test:${uri(f)}`, value: 'first' })),
    { key: `test:${uri(files[0] as string)}`, value: 'last' },
  ]);
  assert.equal(result.inserted, 6);
  await run.finish();
  for (const name of ['m1', 'm2', 'm3'])
    assert.equal((await rt.store.getRecord(`${name}-1`))?.source, `s3://logs/${name}.json`);
  const marks = await rt.store.checkpoints('test:s3://logs/');
  assert.deepEqual([...marks].sort(), [
    ['test:s3://logs/m1.json', 'last'],
    ['test:s3://logs/m2.json', 'first'],
    ['test:s3://logs/m3.json', 'first'],
  ]);
  assert.equal((await ledger()).checkpoints, before.checkpoints + 3);
});

test('abort rolls back the uncommitted groups and their checkpoints', async () => {
  const before = await ledger();
  const run = await start(1_000);
  const d = logFile('d', ids('d', 4));
  await insert(await run.stage(local(d)), d);
  await run.abort();
  assert.deepEqual(await ledger(), before);
  // A new run resolves its keys afresh and inserts them.
  const again = await start(1_000);
  const batch = await again.stage(local(d));
  assert.equal(batch.models.length, 1);
  assert.equal((await insert(batch, d)).inserted, 4);
  await again.finish();
  assert.equal((await ledger()).requests, before.requests + 4);
});

test('a discarded batch takes its keys back: staged again, they are handed out again', async () => {
  const run = await start(1_000);
  const e = logFile('e', ids('e', 2));
  const f = logFile('f', ids('f', 2));
  const [first, second] = [await run.stage(local(e)), await run.stage(local(f))];
  assert.deepEqual([first.models.length, second.models.length], [1, 0]);
  // The second was not given the first's keys: both go, latest first, and are staged again.
  await second.discard();
  await first.discard();
  const [again, next] = [await run.stage(local(e)), await run.stage(local(f))];
  assert.deepEqual([again.models.length, next.models.length], [1, 0]);
  assert.equal((await insert(again, e)).inserted, 2);
  assert.equal((await insert(next, f)).inserted, 2);
  await run.abort();
});

test('a row whose maps are missing fails the insert instead of vanishing', async () => {
  const run = await start(1_000);
  const g = logFile('g', ids('g', 3));
  const batch = await run.stage(local(g));
  // The keys were handed out, but the maps given leave them out.
  const maps = resolve()(batch);
  await assert.rejects(batch.insert({ ...maps, attributions: [] }, []), /no attribution map/);
  await run.abort();
  const again = await start(1_000);
  const other = await again.stage(local(g));
  await assert.rejects(
    other.insert({ ...resolve()(other), prices: [] }, []),
    /no model or price map/,
  );
  await again.abort();
});

test('a file with a count of the wrong type is reported invalid; the stage itself does not fail', async () => {
  const good = logFile('typed-good', ids('tg', 3));
  const typed = join(tmp.path, 'typed-bad.json');
  const record = JSON.parse(readFileSync(good, 'utf8').split('\n')[0] as string) as {
    requestId: string;
    input: Record<string, unknown>;
  };
  record.requestId = 'tb-0';
  record.input.inputTokenCount = '100';
  writeFileSync(typed, `${JSON.stringify(record)}\n`);
  const run = await start(1_000);
  const batch = await run.stage(local(good, typed));
  assert.deepEqual(batch.invalidFiles, [typed], 'the file goes row by row, its group stays bulk');
  assert.deepEqual(
    batch.files.map((f) => f.file),
    [good],
  );
  const result = await insert(batch, good);
  assert.equal(result.inserted, 3);
  await run.finish();

  // The invalid file's rows come first and the group is inserted in parts (by row id): every valid row goes in once.
  const good2 = logFile('typed-good-2', ids('tg2', 5));
  const committed = (await ledger()).requests;
  const split = await start(2);
  const second = await split.stage(local(typed, good2));
  assert.deepEqual(second.invalidFiles, [typed]);
  assert.equal((await insert(second, good2)).inserted, 5);
  // Two transactions of exactly 2 rows are committed, the fifth row waits: the split by row id counts only valid
  // rows (row ids with a gap where the invalid row was would commit 1 + 2).
  assert.equal((await ledger()).requests, committed + 4);
  await split.finish();
  for (const id of ids('tg2', 5)) assert.notEqual(await rt.store.getRecord(id), null, id);
  assert.equal(await rt.store.getRecord('tb-0'), null);
});
