/**
 * `tokenledger ingest cwlogs://LOG_GROUP` as a user runs it: a child process, the standard AWS environment, the real
 * AWS SDK v3 CloudWatch Logs client against a local endpoint (AWS_ENDPOINT_URL_CLOUDWATCH_LOGS). The same records
 * as from a file, a bad message rejected with its hour and line, a rerun that reads nothing, clear errors.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startFakeCloudWatchLogs } from '../support/fake-cloudwatch-logs.ts';
import { awsTestEnv, runCliProcess } from '../support/process.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = join(import.meta.dirname, '..', '..');
const testdata = join(root, 'src', 'sources', 'invocation-logs', 'testdata');
const tmp = tempDir();
after(() => tmp.remove());

const run = runCliProcess;

test('ingest cwlogs://LOG_GROUP --since --until with the standard AWS environment', async () => {
  const lines = readFileSync(join(testdata, 'operations.jsonl'), 'utf8').trim().split('\n');
  const fake = await startFakeCloudWatchLogs({
    pageSize: 5,
    groups: {
      '/aws/bedrock/invocations': [
        ...lines.map((message) => ({
          timestamp: Date.parse((JSON.parse(message) as { timestamp: string }).timestamp),
          message,
        })),
        { timestamp: Date.parse('2026-03-02T10:30:00Z'), message: '{"schemaType": "ModelInvoc' },
      ],
    },
  });
  try {
    const env = awsTestEnv(tmp.path, {
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: fake.endpoint,
      TOKENLEDGER_CONFIG: join(testdata, 'tokenledger.yaml'),
    });
    const db = join(tmp.path, 'logs.duckdb');
    const day = ['--since', '2026-03-02', '--until', '2026-03-03'];
    const group = 'cwlogs:///aws/bedrock/invocations';
    const first = await run(['ingest', group, ...day, '--db', db, '--json'], env);
    assert.equal(first.code, 3, first.err); // one malformed message
    const s = JSON.parse(first.out) as Record<string, number>;
    assert.deepEqual([s.files, s.logHours, s.read, s.inserted, s.rejected], [24, 24, 11, 11, 1]);
    const rejects = join(tmp.path, 'tokenledger-rejects');
    const reject = readFileSync(join(rejects, readdirSync(rejects)[0] as string), 'utf8');
    assert.match(reject, /cwlogs:\/\/\/aws\/bedrock\/invocations@2026-03-02T10Z/);
    assert.match(reject, /"line":12/);

    // The hours are long settled: a rerun reads none of them.
    const again = await run(['ingest', group, ...day, '--db', db, '--json'], env);
    assert.equal(again.code, 0, again.err);
    const a = JSON.parse(again.out) as Record<string, number>;
    assert.deepEqual([a.filesSkipped, a.read, a.inserted], [24, 0, 0]);
    // In words, the hours are hours.
    const text = await run(['ingest', group, ...day, '--db', db], env);
    assert.match(
      text.out,
      /^Ingested 24 CloudWatch Logs hours \(24 unchanged since last run, skipped\)/,
    );

    // The same ledger as from the records in a file.
    const fileDb = join(tmp.path, 'file.duckdb');
    assert.equal(
      (await run(['ingest', join(testdata, 'operations.jsonl'), '--db', fileDb], env)).code,
      0,
    );
    const report = async (d: string) =>
      (
        await run(
          [
            'report',
            '--by',
            'model,user',
            '--since',
            '2026-03-01',
            '--until',
            '2026-03-04',
            '--db',
            d,
            '--format',
            'json',
          ],
          env,
        )
      ).out;
    assert.equal(await report(db), await report(fileDb));

    const missing = await run(['ingest', 'cwlogs://nope', ...day, '--db', db], env);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /log group nope does not exist in us-east-1/);
    assert.doesNotMatch(missing.err, /secret|AKIDEXAMPLE/);
    const backwards = await run(
      ['ingest', group, '--since', '2026-03-03', '--until', '2026-03-02', '--db', db],
      env,
    );
    assert.equal(backwards.code, 2);
    assert.match(backwards.err, /--since must be before --until/);
  } finally {
    await fake.close();
  }
});
