import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cancel, createHttpUpstream, type UpstreamRequest } from './upstream.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A local endpoint whose behaviour each test sets; counts the requests that reached it. */
async function endpoint() {
  let handler: Handler = (_req, res) => res.end('ok');
  let received = 0;
  const server = createServer((req, res) => {
    received++;
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    set: (h: Handler) => {
      handler = h;
    },
    received: () => received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const call = (cancel = new Cancel()): UpstreamRequest => ({
  method: 'POST',
  path: '/model/m/invoke',
  headers: { 'content-type': 'application/json' },
  body: Buffer.from('{}'),
  cancel,
});

describe('the HTTP upstream (undici dispatch)', async () => {
  const ep = await endpoint();
  const credentials = {
    own: async () => ({ accessKeyId: 'a', secretAccessKey: 'b' }),
    assumed: async () => ({ accessKeyId: 'a', secretAccessKey: 'b' }),
  };
  const upstream = await createHttpUpstream({
    endpoint: ep.url,
    region: 'us-east-1',
    auth: 'none',
    credentials,
    maxSockets: 1,
  });
  after(async () => {
    upstream.close();
    await ep.close();
  });

  test('status, headers and the whole answer; repeated headers kept', async () => {
    ep.set((_req, res) => {
      res.setHeader('x-amzn-requestid', 'req-1');
      res.setHeader('x-multi', ['a', 'b']);
      res.writeHead(429, { 'content-type': 'application/json' });
      res.write('{"message":');
      res.end('"slow down"}');
    });
    const r = await upstream.send(call());
    assert.equal(r.status, 429);
    assert.equal(r.headers['x-amzn-requestid'], 'req-1');
    assert.deepEqual(r.headers['x-multi'], ['a', 'b']);
    assert.equal((await r.body.all()).toString(), '{"message":"slow down"}');
    assert.equal(r.body.ended, true);
  });

  for (const late of [false, true]) {
    test(`${late ? 'a reader that starts late' : 'a reader slower than the answer'}: the connection is paused (the sender backs up), and no byte is lost`, async () => {
      const chunk = 1 << 20;
      const total = 64;
      let written = 0;
      const sent = createHash('sha256');
      ep.set((_req, res) => {
        res.writeHead(200);
        const send = async () => {
          for (let i = 0; i < total && !res.destroyed; i++) {
            const b = Buffer.alloc(chunk, i);
            sent.update(b);
            written++;
            if (!res.write(b)) await new Promise((r) => res.once('drain', r));
          }
          res.end();
        };
        void send();
      });
      const r = await upstream.send(call());
      const got = createHash('sha256');
      let bytes = 0;
      let writtenWhileStalled = 0;
      const stall = async () => {
        await sleep(300);
        writtenWhileStalled = written;
      };
      if (late) await stall();
      await r.body.each((c) => {
        const first = bytes === 0;
        got.update(c);
        bytes += c.length;
        return first && !late ? stall() : undefined;
      });
      assert.equal(bytes, total * chunk);
      assert.equal(got.digest('hex'), sent.digest('hex'));
      assert.equal(r.body.ended, true);
      // Unpaused, the whole 64 MiB would have been read into memory within the stall.
      assert.ok(writtenWhileStalled < total / 2, `the sender wrote ${writtenWhileStalled} MiB`);
    });
  }

  test('cancelled before the answer: send rejects with the reason, and the request is torn down', async () => {
    let closed!: () => void;
    const gone = new Promise<void>((r) => {
      closed = r;
    });
    ep.set((req) => req.socket.once('close', closed)); // never answers
    const cancel = new Cancel();
    const sending = upstream.send(call(cancel));
    await sleep(50);
    cancel.cancel('GatewayTimeout');
    await assert.rejects(sending, /cancelled: GatewayTimeout/);
    await gone;
  });

  test('cancelled while queued for a connection: rejects at once and is never sent', async () => {
    let release!: () => void;
    ep.set((_req, res) => {
      release = () => res.end('first');
    });
    const before = ep.received();
    const first = upstream.send(call()); // holds the only connection
    await sleep(50);
    const cancel = new Cancel();
    const queued = upstream.send(call(cancel));
    cancel.cancel('ClientClosedRequest');
    await assert.rejects(queued, /cancelled: ClientClosedRequest/);
    release();
    assert.equal((await (await first).body.all()).toString(), 'first');
    await sleep(50);
    assert.equal(ep.received() - before, 1);
  });

  test('an answer cut midway: the bytes that came are read, then the read fails', async () => {
    ep.set((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const whole = await upstream.send(call());
    await assert.rejects(whole.body.all());
    assert.equal(whole.body.ended, false);

    const streamed = await upstream.send(call());
    const seen: string[] = [];
    await assert.rejects(
      streamed.body.each((c) => {
        seen.push(c.toString());
        return undefined;
      }),
    );
    assert.equal(seen.join(''), 'partial');
  });

  test('cancelled while the answer streams: the read fails with the reason', async () => {
    ep.set((_req, res) => {
      res.writeHead(200);
      res.write('first event');
    });
    const cancel = new Cancel();
    const r = await upstream.send(call(cancel));
    await assert.rejects(
      r.body.each(() => {
        cancel.cancel('ClientClosedRequest');
        return undefined;
      }),
      /cancelled: ClientClosedRequest/,
    );
  });

  test('a reader that throws, or whose promise rejects, ends the read with its error', async () => {
    ep.set((_req, res) => {
      res.writeHead(200);
      res.write('one');
      setTimeout(() => res.end('two'), 20);
    });
    const thrown = await upstream.send(call());
    await assert.rejects(
      thrown.body.each(() => {
        throw new Error('reader broke');
      }),
      /reader broke/,
    );
    const rejected = await upstream.send(call());
    await assert.rejects(
      rejected.body.each(() => Promise.reject(new Error('client gone'))),
      /client gone/,
    );
  });
});
