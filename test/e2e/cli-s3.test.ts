/**
 * `tokenledger ingest s3://…` as a user runs it: a child process, the standard AWS environment variables, the real
 * AWS SDK v3 with its default credential chain, against a local S3 endpoint (AWS_ENDPOINT_URL_S3).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startFakeS3 } from '../support/fake-s3.ts';
import { awsTestEnv, runCliProcess } from '../support/process.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = join(import.meta.dirname, '..', '..');
const testdata = join(root, 'src', 'sources', 'invocation-logs', 'testdata');
const tmp = tempDir();
after(() => tmp.remove());

const run = runCliProcess;

test('ingest s3://bucket/prefix with the standard AWS environment', async () => {
  const hour = join(
    tmp.path,
    's3',
    'acme-logs',
    'AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2026/03/02/10',
  );
  mkdirSync(hour, { recursive: true });
  copyFileSync(
    join(testdata, 'operations.jsonl'),
    join(hour, '20260302T101500Z_0a1b2c3d4e5f6a7b.json'),
  );
  const fake = await startFakeS3({ root: join(tmp.path, 's3') });
  try {
    const env = awsTestEnv(tmp.path, {
      AWS_ENDPOINT_URL_S3: fake.endpoint,
      TOKENLEDGER_CONFIG: join(testdata, 'tokenledger.yaml'),
    });
    const db = join(tmp.path, 'ledger.duckdb');
    const r = await run(['ingest', 's3://acme-logs/AWSLogs/', '--db', db, '--json'], env);
    assert.equal(r.code, 0, r.err);
    const summary = JSON.parse(r.out) as { files: number; inserted: number };
    assert.deepEqual([summary.files, summary.inserted], [1, 11]);
    const denied = await run(['ingest', 's3://forbidden/AWSLogs/', '--db', db], env);
    assert.equal(denied.code, 1);
    assert.match(denied.err, /forbidden/);
    assert.doesNotMatch(denied.err, /secret|AKIDEXAMPLE/);
  } finally {
    await fake.close();
  }
});

test('ingest-cur s3://bucket/export/ with the standard AWS environment: the same bill as from a folder', async () => {
  const curFixture = join(root, 'src', 'pipeline', 'testdata', 'cur', 'cur2');
  const period = join(
    tmp.path,
    's3-cur',
    'billing',
    'exports',
    'tokenledger',
    'data',
    'BILLING_PERIOD=2026-03',
  );
  mkdirSync(period, { recursive: true });
  copyFileSync(
    join(curFixture, 'tokenledger', 'data', 'BILLING_PERIOD=2026-03', 'tokenledger-00001.csv.gz'),
    join(period, 'tokenledger-00001.csv.gz'),
  );
  const fake = await startFakeS3({ root: join(tmp.path, 's3-cur') });
  try {
    const env = awsTestEnv(tmp.path, {
      AWS_ENDPOINT_URL_S3: fake.endpoint,
    });
    const fromS3 = await run(
      ['ingest-cur', 's3://billing/exports/', '--db', join(tmp.path, 'cur-s3.duckdb'), '--json'],
      env,
    );
    const fromDir = await run(
      ['ingest-cur', curFixture, '--db', join(tmp.path, 'cur-dir.duckdb'), '--json'],
      env,
    );
    assert.equal(fromS3.code, 3, fromS3.err); // the fixture has two malformed rows
    const a = JSON.parse(fromS3.out) as Record<string, unknown>;
    const b = JSON.parse(fromDir.out) as Record<string, unknown>;
    for (const k of [
      'files',
      'rows',
      'otherRows',
      'inserted',
      'rejects',
      'unknownUsageTypes',
      'periods',
    ])
      assert.deepEqual(a[k], b[k], k);
    assert.equal(a.inserted, 9);
  } finally {
    await fake.close();
  }
});
