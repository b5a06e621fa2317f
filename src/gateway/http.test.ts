import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { describe, test } from 'node:test';
import {
  BodyTimeout,
  BodyTooLarge,
  drained,
  type GatewayRequest,
  type GatewayResponse,
  readAll,
  readBody,
} from './http.ts';

describe('readAll', () => {
  test('concatenates every chunk, once the stream ends', async () => {
    const body = await readAll(
      Readable.from([Buffer.from('ab'), Buffer.from('c'), Buffer.from('de')]),
    );
    assert.equal(body.toString(), 'abcde');
    assert.equal((await readAll(Readable.from([]))).length, 0);
  });

  test('past the limit: BodyTooLarge, and the stream is destroyed (nothing more is read)', async () => {
    const s = new PassThrough();
    const read = readAll(s, 4);
    s.write(Buffer.from('abc'));
    s.write(Buffer.from('de'));
    await assert.rejects(read, BodyTooLarge);
    assert.equal(s.destroyed, true);
  });

  test('an error or a close before the end rejects; nothing is left listening', async () => {
    const failing = new PassThrough();
    const a = readAll(failing);
    failing.destroy(new Error('connection reset'));
    await assert.rejects(a, /connection reset/);

    const cut = new PassThrough();
    const b = readAll(cut);
    cut.write(Buffer.from('partial'));
    cut.destroy();
    await assert.rejects(b, /closed before its end/);
    for (const event of ['data', 'end', 'error', 'close'])
      assert.equal(cut.listenerCount(event), 0, event);
  });
});

describe('drained', () => {
  test('resolves on drain or on close, and leaves no listener behind either way', async () => {
    const res = new EventEmitter() as EventEmitter & GatewayResponse;
    // A long stream to a slow client: it drains many times before it closes.
    for (let i = 0; i < 20; i++) {
      const waiting = drained(res);
      res.emit('drain');
      await waiting;
    }
    assert.equal(res.listenerCount('drain'), 0);
    assert.equal(res.listenerCount('close'), 0);
    const closing = drained(res);
    res.emit('close');
    await closing;
    assert.equal(res.listenerCount('drain'), 0);
  });
});

test('drained with a stall limit: a client that reads nothing for that long is cut, which settles it', async () => {
  const res = new EventEmitter() as EventEmitter & GatewayResponse;
  let cut: Error | undefined;
  res.destroy = (e?: Error) => {
    cut = e;
    res.emit('close');
  };
  const started = Date.now();
  await drained(res, 50);
  assert.match(cut?.message ?? '', /stopped reading/);
  assert.ok(Date.now() - started >= 45);
  assert.equal(res.listenerCount('close'), 0);
  // A client that drains in time is not cut.
  cut = undefined;
  const waiting = drained(res, 50);
  res.emit('drain');
  await waiting;
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(cut, undefined);
});

test('readBody: an HTTP/2 body that has not all come within its timeout rejects BodyTimeout and destroys the request', async () => {
  // An http2 compat request (it has a `stream`); HTTP/1.1's are bounded by node's requestTimeout.
  const req = Object.assign(new PassThrough(), {
    headers: {},
    stream: {},
  }) as unknown as PassThrough & GatewayRequest;
  req.write('{"messages":');
  await assert.rejects(readBody(req, 1024, 50), BodyTimeout);
  assert.ok(req.destroyed);
  const whole = Object.assign(new PassThrough(), {
    headers: {},
    stream: {},
  }) as unknown as PassThrough & GatewayRequest;
  const read = readBody(whole, 1024, 1000);
  whole.end('{}');
  assert.equal((await read).toString(), '{}');
});
