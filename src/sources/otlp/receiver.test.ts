import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { AppError } from '../../core/index.ts';
import {
  createOtlpReceiver,
  encodePartialSuccess,
  encodeStatus,
  type OtlpBatch,
  type OtlpReceiverOptions,
  type OtlpSink,
} from './receiver.ts';

const NOW = Date.UTC(2026, 10, 1, 12, 0, 0);
const TOKEN = 'tl-s3cret-token-0123456789';
const JSON_BODY = '{"resourceLogs":[]}';
const PROTO_BODY = Uint8Array.from([0x0a, 0x00]); // ExportLogsServiceRequest { resource_logs: [{}] }

type Behaviour = (batch: OtlpBatch) => Promise<{ rejected: number; message?: string }>;

class FakeSink implements OtlpSink {
  readonly batches: OtlpBatch[] = [];
  constructor(private readonly behaviour: Behaviour = async () => ({ rejected: 0 })) {}
  accept(batch: OtlpBatch): Promise<{ rejected: number; message?: string }> {
    this.batches.push(batch);
    return this.behaviour(batch);
  }
}

function receiver(sink: OtlpSink, options: Partial<OtlpReceiverOptions> = {}) {
  return createOtlpReceiver({ sink, now: () => NOW, ...options });
}

function post(
  app: ReturnType<typeof receiver>,
  path: string,
  body: NonNullable<RequestInit['body']> | null,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<Response> {
  return Promise.resolve(app.request(path, { method: 'POST', body, headers }));
}

/** A streaming (chunked, no Content-Length) request, as Claude Code 2.1.191–2.1.211 sent. */
function streamed(
  path: string,
  stream: ReadableStream<Uint8Array>,
  headers: Record<string, string>,
) {
  return new Request(`http://localhost${path}`, {
    method: 'POST',
    body: stream,
    headers,
    duplex: 'half',
  });
}

/** Minimal protobuf reader: field number → values (varints as numbers, length-delimited as bytes). */
function fields(bytes: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const out = new Map<number, (number | Uint8Array)[]>();
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[pos++];
      assert.ok(b !== undefined, 'truncated varint');
      result += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) return result;
    }
  };
  while (pos < bytes.length) {
    const tag = varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    let value: number | Uint8Array;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = varint();
      value = bytes.subarray(pos, pos + len);
      pos += len;
    } else throw new Error(`unexpected wire type ${wire}`);
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}

function one(map: Map<number, (number | Uint8Array)[]>, field: number): number | Uint8Array {
  const values = map.get(field);
  assert.ok(values !== undefined && values.length === 1, `field ${field}: ${values?.length}`);
  return values[0] as number | Uint8Array;
}

const text = (v: number | Uint8Array) => new TextDecoder().decode(v as Uint8Array);

async function statusOf(res: Response): Promise<{ code: number; message: string }> {
  if (res.headers.get('content-type') === 'application/x-protobuf') {
    const status = fields(new Uint8Array(await res.arrayBuffer()));
    return { code: one(status, 1) as number, message: text(one(status, 2)) };
  }
  assert.equal(res.headers.get('content-type'), 'application/json');
  return (await res.json()) as { code: number; message: string };
}

describe('OTLP receiver: success', () => {
  for (const signal of ['logs', 'metrics', 'traces'] as const) {
    test(`POST /v1/${signal} JSON → 200 {} and one batch`, async () => {
      const sink = new FakeSink();
      const res = await post(receiver(sink), `/v1/${signal}`, JSON_BODY, {
        'content-type': 'application/json',
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json');
      assert.deepEqual(await res.json(), {});
      assert.equal(sink.batches.length, 1);
      const batch = sink.batches[0];
      assert.equal(batch?.signal, signal);
      assert.equal(batch?.encoding, 'json');
      assert.equal(batch?.receivedAt, NOW);
      assert.equal(new TextDecoder().decode(batch?.body), JSON_BODY);
    });
  }

  test('protobuf → 200 with an empty protobuf body', async () => {
    const sink = new FakeSink();
    const res = await post(receiver(sink), '/v1/metrics', PROTO_BODY, {
      'content-type': 'application/x-protobuf',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-protobuf');
    assert.equal((await res.arrayBuffer()).byteLength, 0);
    assert.equal(sink.batches[0]?.encoding, 'protobuf');
    assert.deepEqual([...(sink.batches[0]?.body ?? [])], [...PROTO_BODY]);
  });

  test('content-type parameters and case are accepted', async () => {
    const sink = new FakeSink();
    const app = receiver(sink);
    for (const [type, encoding] of [
      ['application/json; charset=utf-8', 'json'],
      ['Application/JSON;charset="UTF-8"', 'json'],
      ['application/x-protobuf; proto=opentelemetry.proto.collector.logs.v1', 'protobuf'],
      [' APPLICATION/X-PROTOBUF ', 'protobuf'],
    ] as const) {
      const body = encoding === 'json' ? JSON_BODY : PROTO_BODY;
      const res = await post(app, '/v1/logs', body, { 'content-type': type });
      assert.equal(res.status, 200, type);
      assert.equal(sink.batches.at(-1)?.encoding, encoding, type);
    }
  });

  test('an empty body succeeds without calling the sink', async () => {
    const sink = new FakeSink();
    const app = receiver(sink);
    const json = await post(app, '/v1/logs', '', { 'content-type': 'application/json' });
    assert.equal(json.status, 200);
    assert.deepEqual(await json.json(), {});
    const proto = await post(app, '/v1/logs', null, { 'content-type': 'application/x-protobuf' });
    assert.equal(proto.status, 200);
    assert.equal(sink.batches.length, 0);
  });
});

describe('OTLP receiver: compression and size limits', () => {
  test('gzip, x-gzip and deflate bodies reach the sink decompressed', async () => {
    const sink = new FakeSink();
    const app = receiver(sink);
    for (const [coding, bytes] of [
      ['gzip', gzipSync(JSON_BODY)],
      ['x-gzip', gzipSync(JSON_BODY)],
      ['GZIP', gzipSync(JSON_BODY)],
      ['deflate', deflateSync(JSON_BODY)],
      ['identity', Buffer.from(JSON_BODY)],
    ] as const) {
      const res = await post(app, '/v1/logs', new Uint8Array(bytes), {
        'content-type': 'application/json',
        'content-encoding': coding,
      });
      assert.equal(res.status, 200, coding);
      assert.equal(new TextDecoder().decode(sink.batches.at(-1)?.body), JSON_BODY, coding);
    }
  });

  test('a broken or truncated gzip stream → 400, sink not called', async () => {
    const sink = new FakeSink();
    const app = receiver(sink);
    const good = gzipSync(JSON_BODY);
    for (const bytes of [Buffer.from('definitely not gzip'), good.subarray(0, good.length - 6)]) {
      const res = await post(app, '/v1/logs', new Uint8Array(bytes), {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      });
      assert.equal(res.status, 400);
      assert.deepEqual(await statusOf(res), { code: 3, message: 'invalid gzip body' });
    }
    assert.equal(sink.batches.length, 0);
  });

  test('an unsupported Content-Encoding → 415', async () => {
    const sink = new FakeSink();
    const res = await post(receiver(sink), '/v1/logs', JSON_BODY, {
      'content-type': 'application/json',
      'content-encoding': 'br',
    });
    assert.equal(res.status, 415);
    assert.equal(res.headers.get('accept-encoding'), 'gzip, deflate');
    assert.equal(sink.batches.length, 0);
  });

  test('a gzip bomb (64 KiB → 64 MiB) → 413 quickly under the default 16 MiB limit', async () => {
    const member = gzipSync(Buffer.alloc(1024 * 1024)); // concatenated gzip members decompress to their sum
    const bomb = new Uint8Array(Buffer.concat(Array.from({ length: 64 }, () => member)));
    assert.ok(bomb.byteLength < 128 * 1024, `${bomb.byteLength}`);
    const sink = new FakeSink();
    const started = performance.now();
    const res = await post(receiver(sink), '/v1/logs', bomb, {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
    });
    const elapsed = performance.now() - started;
    assert.equal(res.status, 413);
    assert.equal(res.headers.get('connection'), 'close');
    assert.deepEqual(await statusOf(res), {
      code: 8,
      message: 'request body exceeds 16777216 bytes',
    });
    assert.ok(elapsed < 2000, `${elapsed} ms`);
    assert.equal(sink.batches.length, 0);
  });

  test('a compressed body over the limit → 413 before decompressing all of it', async () => {
    const sink = new FakeSink();
    const random = new Uint8Array(64 * 1024).map((_, i) => (i * 2654435761) >>> 24);
    const res = await post(receiver(sink, { maxBodyBytes: 1024 }), '/v1/logs', gzipSync(random), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    assert.equal(res.status, 413);
  });

  test('a declared Content-Length over the limit → 413 without reading the body', async () => {
    const sink = new FakeSink();
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(1024));
      },
    });
    const req = streamed('/v1/logs', body, {
      'content-type': 'application/json',
      'content-length': String(10 * 1024 * 1024),
    });
    const res = await receiver(sink, { maxBodyBytes: 4096 }).request(req);
    assert.equal(res.status, 413);
    assert.ok(pulls <= 1, `${pulls} pulls`);
  });

  /** An endless body: proves the limit applies while streaming, since buffering it all would never finish. */
  function endless(chunk: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += chunk;
        controller.enqueue(new Uint8Array(chunk).fill(0x20));
      },
    });
    return { stream, pulled: () => pulled };
  }

  test('an endless chunked body (no Content-Length) → 413 after reading about the limit', async () => {
    const sink = new FakeSink();
    const limit = 1024 * 1024;
    const body = endless(64 * 1024);
    const req = streamed('/v1/traces', body.stream, { 'content-type': 'application/json' });
    const res = await receiver(sink, { maxBodyBytes: limit }).request(req);
    assert.equal(res.status, 413);
    assert.ok(body.pulled() <= limit + 4 * 64 * 1024, `read ${body.pulled()} bytes`);
    assert.equal(sink.batches.length, 0);
  });

  test('an endless chunked gzip body → 413 after reading about the limit', async () => {
    const sink = new FakeSink();
    const limit = 256 * 1024;
    const member = new Uint8Array(gzipSync(Buffer.alloc(64 * 1024, 0x20))); // ~100 bytes → 64 KiB
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += member.byteLength;
        controller.enqueue(member);
      },
    });
    const req = streamed('/v1/traces', body, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    const res = await receiver(sink, { maxBodyBytes: limit }).request(req);
    assert.equal(res.status, 413);
    // Whichever side reaches the limit first stops it: here the stream queues compressed chunks faster than zlib
    // inflates them, so the compressed count trips; memory is bounded by the limit on both sides either way.
    assert.ok(sent <= limit + 64 * 1024, `read ${sent} compressed bytes`);
    assert.equal(sink.batches.length, 0);
  });

  test('a body of exactly the limit is accepted; one byte more is not', async () => {
    const sink = new FakeSink();
    const app = receiver(sink, { maxBodyBytes: 100 });
    const ok = await post(app, '/v1/logs', new Uint8Array(100), {
      'content-type': 'application/x-protobuf',
    });
    assert.equal(ok.status, 200);
    const over = streamed(
      '/v1/logs',
      new ReadableStream({
        start(c) {
          c.enqueue(new Uint8Array(60));
          c.enqueue(new Uint8Array(41));
          c.close();
        },
      }),
      { 'content-type': 'application/x-protobuf' },
    );
    assert.equal((await app.request(over)).status, 413);
    assert.equal(sink.batches.length, 1);
  });
});

describe('OTLP receiver: partial success', () => {
  const cases = [
    ['logs', 'rejectedLogRecords'],
    ['metrics', 'rejectedDataPoints'],
    ['traces', 'rejectedSpans'],
  ] as const;
  for (const [signal, field] of cases) {
    test(`JSON ${signal}: partialSuccess.${field} as an int64 string + errorMessage`, async () => {
      const sink = new FakeSink(async () => ({ rejected: 3, message: '3 items had no timestamp' }));
      const res = await post(receiver(sink), `/v1/${signal}`, JSON_BODY);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), {
        partialSuccess: { [field]: '3', errorMessage: '3 items had no timestamp' },
      });
    });

    test(`protobuf ${signal}: field 1 { 1: varint rejected, 2: error_message }`, async () => {
      const sink = new FakeSink(async () => ({ rejected: 300, message: 'bad points ✗' }));
      const res = await post(receiver(sink), `/v1/${signal}`, PROTO_BODY, {
        'content-type': 'application/x-protobuf',
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/x-protobuf');
      const response = fields(new Uint8Array(await res.arrayBuffer()));
      assert.deepEqual([...response.keys()], [1]);
      const partial = fields(one(response, 1) as Uint8Array);
      assert.equal(one(partial, 1), 300);
      assert.equal(text(one(partial, 2)), 'bad points ✗');
    });
  }

  test('a warning with nothing rejected carries only errorMessage', async () => {
    const sink = new FakeSink(async () => ({ rejected: 0, message: 'unknown metric ignored' }));
    const res = await post(receiver(sink), '/v1/metrics', JSON_BODY);
    assert.deepEqual(await res.json(), {
      partialSuccess: { errorMessage: 'unknown metric ignored' },
    });
    const proto = fields(encodePartialSuccess(0, 'w'));
    assert.deepEqual([...fields(one(proto, 1) as Uint8Array).keys()], [2]);
  });

  test('a nonsensical rejected count from the sink is treated as none', async () => {
    const sink = new FakeSink(async () => ({ rejected: Number.NaN }));
    const res = await post(receiver(sink), '/v1/metrics', JSON_BODY);
    assert.deepEqual(await res.json(), {});
  });

  test('large counts use multi-byte varints', () => {
    const partial = fields(one(fields(encodePartialSuccess(2 ** 40 + 5, '')), 1) as Uint8Array);
    assert.equal(one(partial, 1), 2 ** 40 + 5);
    assert.deepEqual(fields(encodeStatus(16, 'x')).get(1), [16]);
  });
});

describe('OTLP receiver: errors', () => {
  test('the sink reports malformed → 400 google.rpc.Status in the request encoding', async () => {
    const sink = new FakeSink(async () => {
      throw new AppError('otlp.malformed', 'resourceLogs[0]: not an object');
    });
    const app = receiver(sink);
    const json = await post(app, '/v1/logs', JSON_BODY);
    assert.equal(json.status, 400);
    assert.deepEqual(await json.json(), { code: 3, message: 'resourceLogs[0]: not an object' });
    const proto = await post(app, '/v1/logs', PROTO_BODY, {
      'content-type': 'application/x-protobuf',
    });
    assert.equal(proto.status, 400);
    assert.deepEqual(await statusOf(proto), { code: 3, message: 'resourceLogs[0]: not an object' });
  });

  test('a retryable store error → 503 with Retry-After, without its message', async () => {
    const sink = new FakeSink(async () => {
      throw new AppError('store.busy', 'database /var/lib/tokenledger.db is locked', {
        retryable: true,
      });
    });
    const res = await post(receiver(sink), '/v1/metrics', JSON_BODY);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '5');
    const body = await res.text();
    assert.deepEqual(JSON.parse(body), {
      code: 14,
      message: 'temporarily unavailable, retry later',
    });
    assert.ok(!body.includes('/var/lib'));
  });

  test('a non-retryable store error and an unexpected throw → 500 that reveals nothing; it keeps serving', async () => {
    const logged: string[] = [];
    const log = {
      info: () => undefined,
      warn: () => undefined,
      error: (m: string, f?: Readonly<Record<string, unknown>>) => {
        logged.push(`${m} ${JSON.stringify(f)}`);
      },
    };
    let calls = 0;
    const sink = new FakeSink(async () => {
      calls++;
      if (calls === 1) throw new AppError('store.closed', 'store at /secret/path is closed');
      if (calls === 2) throw new TypeError('cannot read properties of undefined (reading "x")');
      return { rejected: 0 };
    });
    const app = receiver(sink, { log });
    for (const expected of ['store at', 'cannot read']) {
      const res = await post(app, '/v1/logs', JSON_BODY);
      assert.equal(res.status, 500);
      const body = await res.text();
      assert.deepEqual(JSON.parse(body), { code: 13, message: 'internal error' });
      assert.ok(!body.includes(expected.split(' ')[0] ?? ''), body);
    }
    assert.equal((await post(app, '/v1/logs', JSON_BODY)).status, 200);
    assert.equal(logged.length, 2);
    assert.match(logged[1] ?? '', /cannot read properties/);
  });

  test('unsupported Content-Type → 415 (JSON Status), sink not called', async () => {
    const sink = new FakeSink();
    const app = receiver(sink);
    for (const headers of [
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/protobuf' },
      { 'content-type': 'application/jsonx' },
      {},
    ]) {
      const res = await app.request('/v1/logs', { method: 'POST', body: JSON_BODY, headers });
      assert.equal(res.status, 415, JSON.stringify(headers));
      const status = await statusOf(res);
      assert.equal(status.code, 3);
      assert.match(status.message, /application\/x-protobuf/);
    }
    assert.equal(sink.batches.length, 0);
  });

  test('other paths → 404, other methods → 405 with Allow: POST', async () => {
    const app = receiver(new FakeSink());
    for (const path of ['/', '/v1/profiles', '/v1/logs/extra', '/v2/logs']) {
      const res = await post(app, path, JSON_BODY);
      assert.equal(res.status, 404, path);
      assert.equal((await statusOf(res)).code, 12);
    }
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await app.request('/v1/metrics', { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'POST');
    }
  });
});

describe('OTLP receiver: auth', () => {
  test('without a configured token, requests need no Authorization', async () => {
    const res = await post(receiver(new FakeSink()), '/v1/logs', JSON_BODY);
    assert.equal(res.status, 200);
  });

  test('with a token: missing, wrong, or non-Bearer → 401; the token is never echoed', async () => {
    const sink = new FakeSink();
    const app = receiver(sink, { bearerToken: TOKEN });
    for (const authorization of [
      undefined,
      'Bearer wrong',
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Basic ${TOKEN}`,
      TOKEN,
      'Bearer',
    ]) {
      const headers: Record<string, string> = { 'content-type': 'application/x-protobuf' };
      if (authorization !== undefined) headers.authorization = authorization;
      const res = await post(app, '/v1/logs', PROTO_BODY, headers);
      assert.equal(res.status, 401, String(authorization));
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      const raw = new Uint8Array(await res.clone().arrayBuffer());
      assert.ok(!Buffer.from(raw).toString('latin1').includes(TOKEN.slice(0, 8)));
      assert.equal((await statusOf(res)).code, 16);
    }
    assert.equal(sink.batches.length, 0);
  });

  test('auth is checked before anything else about the request', async () => {
    const app = receiver(new FakeSink(), { bearerToken: TOKEN });
    const res = await post(app, '/v1/logs', 'x', { 'content-type': 'text/plain' });
    assert.equal(res.status, 401);
  });

  test('the right token (scheme case-insensitive) is accepted', async () => {
    const sink = new FakeSink();
    const app = receiver(sink, { bearerToken: TOKEN });
    for (const authorization of [`Bearer ${TOKEN}`, `bearer  ${TOKEN} `]) {
      const res = await post(app, '/v1/logs', JSON_BODY, {
        'content-type': 'application/json',
        authorization,
      });
      assert.equal(res.status, 200, authorization);
    }
    assert.equal(sink.batches.length, 2);
  });
});

describe('OTLP receiver: identity headers', () => {
  test('captures identity headers lower-cased and never Authorization or other secrets', async () => {
    const sink = new FakeSink();
    const app = receiver(sink, { bearerToken: TOKEN });
    const res = await post(app, '/v1/metrics', JSON_BODY, {
      'content-type': 'application/json',
      Authorization: `Bearer ${TOKEN}`,
      'Proxy-Authorization': 'Basic abc',
      Cookie: 'session=abc',
      'X-Api-Key': 'k',
      'X-User-Token': 't',
      'X-Amz-Security-Token': 's',
      'X-User-Email': 'ana@example.com',
      'x-user-id': 'sub-123',
      'x-user-name': 'Ana',
      'x-team': 'payments',
      'x-team-id': 'team-7',
      'x-organization': 'Example Corp',
      'x-organization-id': 'org-1',
      'x-department': 'eng',
      'x-cost-center': 'cc-42',
      'x-project': 'checkout',
      'x-tag-application': 'cli',
      'x-claude-code-session-id': 'eec3945a',
      'User-Agent': 'OTel-OTLP-Exporter-JavaScript/0.301.0',
      'x-forwarded-for': '10.0.0.1',
      'x-user-long': 'x'.repeat(2000),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(sink.batches[0]?.headers, {
      'user-agent': 'OTel-OTLP-Exporter-JavaScript/0.301.0',
      'x-claude-code-session-id': 'eec3945a',
      'x-cost-center': 'cc-42',
      'x-department': 'eng',
      'x-organization': 'Example Corp',
      'x-organization-id': 'org-1',
      'x-project': 'checkout',
      'x-tag-application': 'cli',
      'x-team': 'payments',
      'x-team-id': 'team-7',
      'x-user-email': 'ana@example.com',
      'x-user-id': 'sub-123',
      'x-user-name': 'Ana',
    });
    assert.ok(!JSON.stringify(sink.batches).includes(TOKEN));
  });
});

describe('OTLP receiver: isolation', () => {
  test('failing requests do not disturb concurrent good ones', async () => {
    const sink = new FakeSink(async (batch) => {
      const body = new TextDecoder().decode(batch.body);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (body.includes('boom')) throw new Error('boom');
      if (body.includes('bad')) throw new AppError('otlp.malformed', 'bad');
      return { rejected: 0 };
    });
    const app = receiver(sink, { maxBodyBytes: 64 * 1024 });
    const goodBody = '{"resourceLogs":[{"good":1}]}';
    const endless = new ReadableStream<Uint8Array>({
      pull: (c) => c.enqueue(new Uint8Array(8192)),
    });
    const gzip = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
    const [boom, bad, broken, huge, good, good2] = await Promise.all([
      post(app, '/v1/logs', '{"boom":1}'),
      post(app, '/v1/logs', '{"bad":1}'),
      post(app, '/v1/logs', new Uint8Array([0x1f, 0x8b, 0, 0]), gzip),
      app.request(streamed('/v1/logs', endless, { 'content-type': 'application/json' })),
      post(app, '/v1/logs', new Uint8Array(gzipSync(goodBody)), {
        ...gzip,
        'x-user-email': 'good@example.com',
      }),
      post(app, '/v1/metrics', goodBody),
    ]);
    assert.deepEqual(
      [boom.status, bad.status, broken.status, huge.status, good.status, good2.status],
      [500, 400, 400, 413, 200, 200],
    );
    assert.deepEqual(await good.json(), {});
    const goodBatch = sink.batches.find((b) => b.headers['x-user-email'] === 'good@example.com');
    assert.equal(new TextDecoder().decode(goodBatch?.body), goodBody);
    assert.equal((await post(app, '/v1/traces', goodBody)).status, 200);
  });
});
