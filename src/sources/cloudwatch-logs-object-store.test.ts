/**
 * cwlogs:// through the real AWS SDK v3 CloudWatch Logs client against the fake endpoint (test/support): a window
 * lists as hours (settled or open), an hour reads as its Bedrock stream's messages across pages (empty pages with a
 * token included), hour bounds are exact, and AWS errors become messages that name the log group and the fix.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  type FakeCloudWatchLogs,
  startFakeCloudWatchLogs,
} from '../../test/support/fake-cloudwatch-logs.ts';
import { isAppError } from '../core/index.ts';
import {
  createCloudWatchLogsObjectStore,
  parseCwLogsUri,
  SETTLE_MS,
} from './cloudwatch-logs-object-store.ts';
import type { ObjectInfo, ObjectStore } from './object-store.ts';

const records = readFileSync(
  join(import.meta.dirname, 'invocation-logs', 'testdata', 'operations.jsonl'),
  'utf8',
)
  .trim()
  .split('\n');
const at = (line: string) => Date.parse((JSON.parse(line) as { timestamp: string }).timestamp);
const GROUP = '/aws/bedrock/invocations';
const H10 = Date.parse('2026-03-02T10:00:00Z');
const NOW = Date.parse('2026-03-02T12:10:00Z');

let fake: FakeCloudWatchLogs;
let store: ObjectStore;
before(async () => {
  fake = await startFakeCloudWatchLogs({
    pageSize: 4,
    groups: {
      [GROUP]: [
        ...records.map((message) => ({ timestamp: at(message), message })),
        // Not Bedrock's stream: never read.
        { logStreamName: 'app/other', timestamp: H10 + 60_000, message: 'not a record' },
        // The hour's last millisecond, and the next hour's first.
        { timestamp: H10 + 3_599_999, message: '{"last":true}' },
        { timestamp: H10 + 3_600_000, message: '{"next":true}\n' },
      ],
    },
  });
  const client = new CloudWatchLogsClient({
    region: 'us-east-1',
    endpoint: fake.endpoint,
    credentials: { accessKeyId: 'AKIDLOGS', secretAccessKey: 'logs-secret' },
    maxAttempts: 3,
  });
  store = createCloudWatchLogsObjectStore({ client, region: 'us-east-1', now: () => NOW });
});
after(() => fake.close());

async function list(uri: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of store.list(uri)) out.push(o);
  return out;
}
async function read(uri: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await store.read(uri)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('cwlogs:// object store', () => {
  test('a window lists its UTC hours; hours ended SETTLE_MS ago are settled, later ones open', async () => {
    const hours = await list(
      `cwlogs://${GROUP}?since=2026-03-02T09:30:00Z&until=2026-03-02T12:10:00Z`,
    );
    assert.deepEqual(
      hours.map((h) => [h.uri, h.version]),
      [
        [`cwlogs://${GROUP}@2026-03-02T09Z`, 'settled'],
        [`cwlogs://${GROUP}@2026-03-02T10Z`, 'settled'],
        [`cwlogs://${GROUP}@2026-03-02T11Z`, 'open@2026-03-02T12:10:00.000Z'],
        [`cwlogs://${GROUP}@2026-03-02T12Z`, 'open@2026-03-02T12:10:00.000Z'],
      ],
    );
    assert.ok(Date.parse('2026-03-02T12:00:00Z') + SETTLE_MS > NOW);
    assert.ok(
      hours.every((h) => h.resumable === false),
      'an hour is read again from its start',
    );
    // Without a window: the last 7 days to now.
    const week = await list(`cwlogs://${GROUP}`);
    assert.equal(week.length, 7 * 24 + 1);
    assert.deepEqual(await list(`cwlogs://${GROUP}@2026-03-02T10Z`), [hours[1]]);
  });

  test('an hour reads as NDJSON of its Bedrock stream, across pages, bounds exact', async () => {
    const before = fake.requests.length;
    const text = await read(`cwlogs://${GROUP}@2026-03-02T10Z`);
    assert.deepEqual(text.split('\n'), [...records, '{"last":true}', '']);
    const asked = fake.requests.slice(before);
    // 12 events in pages of 4, after the empty first page the service may send.
    assert.equal(asked.length, 4);
    assert.deepEqual(
      [asked[0]?.startTime, asked[0]?.endTime, asked[0]?.logStreamNamePrefix],
      [H10, H10 + 3_599_999, 'aws/bedrock/modelinvocations'],
    );
    assert.equal(await read(`cwlogs://${GROUP}@2026-03-02T11Z`), '{"next":true}\n');
    assert.equal(await read(`cwlogs://${GROUP}@2026-03-02T09Z`), '');
  });

  test('AWS errors name the log group and what to do', async () => {
    const failure = async (uri: string) => {
      try {
        await read(uri);
      } catch (e) {
        assert.ok(isAppError(e));
        return e.message;
      }
      assert.fail('no error');
    };
    assert.match(
      await failure('cwlogs://missing@2026-03-02T10Z'),
      /log group missing does not exist in us-east-1 \(set AWS_REGION/,
    );
    assert.match(await failure('cwlogs://denied@2026-03-02T10Z'), /logs:FilterLogEvents on it/);
  });

  test('URIs: a bad group or window is refused with the expected form', () => {
    for (const bad of [
      'cwlogs://',
      'cwlogs://bad group',
      'cwlogs://g?since=yesterday',
      'cwlogs://g?since=2026-03-02&until=2026-03-01',
      'cwlogs://g@2026-13-99T99Z',
    ])
      assert.throws(() => parseCwLogsUri(bad, NOW), /expected cwlogs:\/\/LOG_GROUP/, bad);
    assert.deepEqual(parseCwLogsUri('cwlogs://g?since=1000&until=2000', NOW), {
      group: 'g',
      since: 1000,
      until: 2000,
    });
  });
});

test('throttling is retried by the SDK', async () => {
  const throttled = await startFakeCloudWatchLogs({ throttle: 2, groups: { g: [] } });
  try {
    const s = createCloudWatchLogsObjectStore({
      client: new CloudWatchLogsClient({
        region: 'us-east-1',
        endpoint: throttled.endpoint,
        credentials: { accessKeyId: 'AKIDLOGS', secretAccessKey: 'logs-secret' },
        maxAttempts: 3,
      }),
    });
    const chunks: unknown[] = [];
    for await (const c of await s.read('cwlogs://g@2026-03-02T10Z')) chunks.push(c);
    assert.deepEqual(chunks, []);
    assert.equal(throttled.requests.length, 3);
  } finally {
    await throttled.close();
  }
});
