import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { type FakeS3, startFakeS3 } from '../../test/support/fake-s3.ts';
import { startTestProxy } from '../../test/support/http-proxy.ts';
import { AppError } from '../core/index.ts';
import type { ObjectInfo, ObjectStore } from './object-store.ts';
import { createObjectStore } from './object-store-router.ts';
import { createS3ObjectStore, createS3ObjectStoreFromEnv } from './s3-object-store.ts';

// Static credentials only: the SDK must never look for real ones (env, profile files, IMDS).
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const SPECIAL_KEY = `b/x&y <z> 'é".json`;
const gzipped = gzipSync(Buffer.from('{"modelId":"anthropic.claude"}\n'.repeat(500)));

let root: string;
let fake: FakeS3;
let client: S3Client;

function put(bucket: string, key: string, content: string | Buffer): void {
  const file = path.join(root, bucket, ...key.split('/'));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

function md5(content: string | Buffer): string {
  return createHash('md5').update(content).digest('hex');
}

async function collect(items: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function appError(code: string, ...fragments: string[]) {
  return (e: unknown): boolean =>
    e instanceof AppError && e.code === code && fragments.every((f) => e.message.includes(f));
}

function sdkError(name: string, status: number) {
  return (e: unknown): boolean =>
    e instanceof S3ServiceException && e.name === name && e.$metadata.httpStatusCode === status;
}

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-'));
  put('logs', 'a/1.json', 'one');
  put('logs', 'a/1.json.bak', 'one, older');
  put('logs', 'a/2.json', 'two!');
  put('logs', SPECIAL_KEY, 'special');
  put('logs', 'c/data.json.gz', gzipped);
  for (let i = 0; i < 10; i++) put('big', `k/${String(i).padStart(2, '0')}.json`, `object ${i}`);
  fake = await startFakeS3({ root, pageSize: 3 });
  client = new S3Client({
    region: 'us-east-1',
    endpoint: fake.endpoint,
    forcePathStyle: true,
    credentials,
  });
});

after(async () => {
  client.destroy();
  await fake.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('fake S3, read by the real S3Client', () => {
  test('ListObjectsV2 pages with MaxKeys, ETags, sizes and a continuation token', async () => {
    const first = await client.send(new ListObjectsV2Command({ Bucket: 'logs', MaxKeys: 2 }));
    assert.equal(first.Name, 'logs');
    assert.equal(first.KeyCount, 2);
    assert.equal(first.MaxKeys, 2);
    assert.equal(first.IsTruncated, true);
    assert.equal(typeof first.NextContinuationToken, 'string');
    assert.deepEqual(
      first.Contents?.map((c) => [c.Key, c.Size, c.ETag, c.StorageClass]),
      [
        ['a/1.json', 3, `"${md5('one')}"`, 'STANDARD'],
        ['a/1.json.bak', 10, `"${md5('one, older')}"`, 'STANDARD'],
      ],
    );
    assert.ok(first.Contents?.[0]?.LastModified instanceof Date);

    const rest = await client.send(
      new ListObjectsV2Command({
        Bucket: 'logs',
        MaxKeys: 2,
        ContinuationToken: first.NextContinuationToken,
      }),
    );
    assert.equal(rest.ContinuationToken, first.NextContinuationToken);
    assert.deepEqual(
      rest.Contents?.map((c) => c.Key),
      ['a/2.json', SPECIAL_KEY],
    );
    const last = await client.send(
      new ListObjectsV2Command({
        Bucket: 'logs',
        MaxKeys: 2,
        ContinuationToken: rest.NextContinuationToken,
      }),
    );
    assert.deepEqual(
      last.Contents?.map((c) => c.Key),
      ['c/data.json.gz'],
    );
    assert.equal(last.IsTruncated, false);
    assert.equal(last.NextContinuationToken, undefined);
  });

  test('ListObjectsV2 filters by prefix and escapes keys', async () => {
    const page = await client.send(new ListObjectsV2Command({ Bucket: 'logs', Prefix: 'b/' }));
    assert.equal(page.Prefix, 'b/');
    assert.deepEqual(
      page.Contents?.map((c) => c.Key),
      [SPECIAL_KEY],
    );
    // Path-style ListObjectsV2 is sent to `/bucket/` (trailing slash), not `/bucket`.
    assert.ok(
      fake.requests.includes('GET /logs/?list-type=2&prefix=b%2F'),
      fake.requests.join('\n'),
    );
  });

  test('GetObject returns the bytes and headers', async () => {
    const out = await client.send(new GetObjectCommand({ Bucket: 'logs', Key: SPECIAL_KEY }));
    assert.equal(out.ContentLength, 7);
    assert.equal(out.ContentType, 'application/octet-stream');
    assert.equal(out.ETag, `"${md5('special')}"`);
    assert.ok(out.LastModified instanceof Date);
    assert.equal(Buffer.from((await out.Body?.transformToByteArray()) ?? []).toString(), 'special');
    const head = await client.send(new HeadObjectCommand({ Bucket: 'logs', Key: 'a/2.json' }));
    assert.equal(head.ContentLength, 4);
    const encoded = `/logs/${SPECIAL_KEY.split('/').map(encodeURIComponent).join('/')}`;
    assert.ok(
      fake.requests.some((r) => r.startsWith(`GET ${encoded.replace("'", '%27')}`)),
      fake.requests.join('\n'),
    );
  });

  test('errors carry the S3 error code as their name', async () => {
    const get = (Bucket: string, Key: string) => client.send(new GetObjectCommand({ Bucket, Key }));
    await assert.rejects(get('logs', 'a/missing.json'), sdkError('NoSuchKey', 404));
    await assert.rejects(get('nobucket', 'a'), sdkError('NoSuchBucket', 404));
    await assert.rejects(get('forbidden', 'a'), sdkError('AccessDenied', 403));
    const head = client.send(new HeadObjectCommand({ Bucket: 'logs', Key: 'missing' }));
    await assert.rejects(head, sdkError('NotFound', 404));
  });
});

describe('S3 object store', () => {
  let store: ObjectStore;
  before(() => {
    store = createS3ObjectStore({ client });
  });

  test('lists every key under a prefix across pages, in order', async () => {
    const requestsBefore = fake.requests.length;
    const items = await collect(store.list('s3://big/k/'));
    const keys = Array.from({ length: 10 }, (_, i) => `k/${String(i).padStart(2, '0')}.json`);
    assert.deepEqual(
      items.map((i) => i.uri),
      keys.map((k) => `s3://big/${k}`),
    );
    assert.deepEqual(items[3], { uri: 's3://big/k/03.json', size: 8, version: md5('object 3') });
    assert.equal(fake.requests.length - requestsBefore, 4);
  });

  test('lists a whole bucket', async () => {
    const items = await collect(store.list('s3://logs'));
    assert.equal(items.length, 5);
    assert.equal(items[3]?.uri, `s3://logs/${SPECIAL_KEY}`);
  });

  test('a URI naming one object lists only that object', async () => {
    const items = await collect(store.list('s3://logs/a/1.json'));
    assert.deepEqual(items, [{ uri: 's3://logs/a/1.json', size: 3, version: md5('one') }]);
    const prefix = await collect(store.list('s3://logs/a/1'));
    assert.equal(prefix.length, 2);
  });

  test('reads a gzip object byte for byte', async () => {
    const bytes = await buffer(await store.read('s3://logs/c/data.json.gz'));
    assert.deepEqual(bytes, gzipped);
    assert.match(gunzipSync(bytes).toString(), /anthropic\.claude/);
  });

  test('maps missing buckets to sources.not_found, a key gone when read to sources.gone', async () => {
    await assert.rejects(
      collect(store.list('s3://nobucket/x')),
      appError('sources.not_found', 'nobucket'),
    );
    await assert.rejects(
      store.read('s3://logs/a/missing.json'),
      appError('sources.gone', 'a/missing.json'),
    );
    await assert.rejects(store.read('s3://nobucket/x'), appError('sources.not_found', 'nobucket'));
    await assert.rejects(store.read('s3://logs'), appError('sources.invalid_uri'));
  });

  test('an aborted signal surfaces as AbortError, not an AppError', async () => {
    const signal = AbortSignal.abort();
    await assert.rejects(collect(store.list('s3://big/k/', signal)), { name: 'AbortError' });
    await assert.rejects(store.read('s3://big/k/00.json', signal), { name: 'AbortError' });
  });

  test('maps 403 to sources.s3_access_denied naming the bucket and permission', async () => {
    const denied = 'sources.s3_access_denied';
    await assert.rejects(
      collect(store.list('s3://forbidden/x')),
      appError(denied, 'forbidden', 's3:ListBucket'),
    );
    await assert.rejects(
      store.read('s3://forbidden/x'),
      appError(denied, 'forbidden', 's3:GetObject'),
    );
  });

  test('maps SlowDown to a retryable sources.s3_unavailable', async () => {
    const once = new S3Client({
      region: 'us-east-1',
      endpoint: fake.endpoint,
      forcePathStyle: true,
      credentials,
      maxAttempts: 1,
    });
    const unavailable = createS3ObjectStore({ client: once });
    await assert.rejects(
      collect(unavailable.list('s3://unavailable/x')),
      (e) =>
        appError('sources.s3_unavailable', 'SlowDown')(e) && e instanceof AppError && e.retryable,
    );
    once.destroy();
  });

  test('credentials that another AWS service refused (STS assuming a role) are named as such, not as S3 access', async () => {
    const refused = new S3Client({
      region: 'us-east-1',
      endpoint: fake.endpoint,
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: async () => {
        // What an STSServiceException of a refused AssumeRole looks like to the S3 client.
        throw Object.assign(new Error('User is not authorized to perform: sts:AssumeRole'), {
          name: 'AccessDenied',
          $fault: 'client',
          $metadata: { httpStatusCode: 403 },
        });
      },
    });
    const store2 = createS3ObjectStore({ client: refused });
    await assert.rejects(collect(store2.list('s3://big/k/')), (e) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'sources.s3_no_credentials');
      assert.match(
        e.message,
        /obtaining AWS credentials .*\(AccessDenied\): User is not authorized/,
      );
      return true;
    });
    refused.destroy();
  });

  test('a connection cut while a body is read is a retryable error naming the object', async () => {
    // An S3 endpoint that announces 100,000 bytes, sends a few, and drops the connection.
    const server = createServer((req, res) => {
      res.writeHead(200, {
        'content-length': '100000',
        etag: '"e"',
        'content-type': 'application/json',
      });
      res.write('{"schemaType":"ModelInvocationLog"');
      setTimeout(() => req.socket.destroy(), 20);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const { port } = server.address() as AddressInfo;
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials,
      maxAttempts: 1,
    });
    try {
      const body = await createS3ObjectStore({ client }).read('s3://logs/AWSLogs/x.json');
      await assert.rejects(buffer(body), (e: unknown) => {
        assert.ok(e instanceof AppError, String(e));
        assert.equal(e.code, 'sources.s3_unavailable');
        assert.ok(e.retryable);
        assert.match(e.message, /cut while reading s3:\/\/logs\/AWSLogs\/x\.json/);
        return true;
      });
    } finally {
      client.destroy();
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    }
  });

  /** The default credential chain reads process.env: the fake's keys there during `fn`. */
  async function withFakeKeys(fn: () => Promise<void>): Promise<void> {
    const saved = process.env;
    const { AWS_PROFILE: _ignored, ...rest } = saved;
    process.env = {
      ...rest,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    try {
      await fn();
    } finally {
      process.env = saved;
    }
  }

  test('the env-configured store honours AWS_ENDPOINT_URL_S3', () =>
    withFakeKeys(async () => {
      const envStore = createS3ObjectStoreFromEnv({
        AWS_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL_S3: fake.endpoint,
      });
      const items = await collect(envStore.list('s3://logs/a/2.json'));
      assert.deepEqual(
        items.map((i) => i.uri),
        ['s3://logs/a/2.json'],
      );
    }));

  test('the env-configured store goes through HTTP_PROXY, with its credentials, unless NO_PROXY names the host', () =>
    withFakeKeys(async () => {
      const proxy = await startTestProxy({ user: 'ops', password: 's3cret' });
      try {
        const env = {
          AWS_REGION: 'eu-west-1',
          AWS_ENDPOINT_URL_S3: fake.endpoint,
          HTTP_PROXY: proxy.url.replace('//', '//ops:s3cret@'),
        };
        const items = await collect(createS3ObjectStoreFromEnv(env).list('s3://logs/a/2.json'));
        assert.deepEqual(
          items.map((i) => i.uri),
          ['s3://logs/a/2.json'],
        );
        assert.equal(proxy.refused, 0);
        assert.deepEqual(proxy.tunnels, [new URL(fake.endpoint).host]);
        const seen = proxy.tunnels.length;
        const direct = createS3ObjectStoreFromEnv({ ...env, NO_PROXY: '127.0.0.1' });
        assert.equal((await collect(direct.list('s3://logs/a/2.json'))).length, 1);
        assert.equal(proxy.tunnels.length, seen, 'NO_PROXY: reached directly');
      } finally {
        await proxy.close();
      }
    }));
});

describe('object store router', () => {
  function recording(name: string, calls: string[]): ObjectStore {
    return {
      async *list(uri) {
        calls.push(`${name} list ${uri}`);
        yield { uri, size: 0, version: name };
      },
      read: async (uri) => {
        calls.push(`${name} read ${uri}`);
        throw new Error('not used');
      },
    };
  }

  test('dispatches by scheme and creates the S3 store once, on first use', async () => {
    const calls: string[] = [];
    let created = 0;
    const router = createObjectStore({
      s3: () => {
        created++;
        return recording('s3', calls);
      },
      local: recording('local', calls),
    });
    await collect(router.list('/tmp/x'));
    await collect(router.list('file:///tmp/y'));
    assert.equal(created, 0);
    await collect(router.list('s3://b/p'));
    await assert.rejects(router.read('S3://b/k'), /not used/);
    assert.equal(created, 1);
    assert.deepEqual(calls, [
      'local list /tmp/x',
      'local list file:///tmp/y',
      's3 list s3://b/p',
      's3 read S3://b/k',
    ]);
    await assert.rejects(
      collect(router.list('gs://b/p')),
      appError('sources.unsupported_uri', 'gs://'),
    );
  });
});
