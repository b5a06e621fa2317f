import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { runNodeScript } from '../../test/support/process.ts';
import {
  createDualServer,
  type DualRequest,
  type DualResponse,
  type DualServer,
} from './listen.ts';

/** Echoes what the handler saw: protocol, method, path, body size and peer address. */
async function echo(req: DualRequest, res: DualResponse): Promise<void> {
  let bytes = 0;
  for await (const chunk of req) bytes += (chunk as Buffer).length;
  if (req.url?.startsWith('/model/')) {
    // A minimal Converse answer, for the AWS SDK.
    const body = JSON.stringify({
      output: { message: { role: 'assistant', content: [{ text: `via ${req.httpVersion}` }] } },
      stopReason: 'end_turn',
      usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
      metrics: { latencyMs: 1 },
    });
    res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': 'req-1' });
    res.end(body);
    return;
  }
  const seen = {
    version: req.httpVersion,
    method: req.method,
    url: req.url,
    bytes,
    remote: req.socket.remoteAddress,
  };
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(seen));
}

let server: DualServer;
let port: number;
const errors: { where: string; message: string }[] = [];

before(async () => {
  server = createDualServer(
    (req, res) => {
      echo(req, res).catch(() => res.destroy());
    },
    { maxHeaderSize: 4096, onError: (e, where) => errors.push({ where, message: e.message }) },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function h1(
  path: string,
  body: string,
  agent?: http.Agent,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

function h2(
  session: http2.ClientHttp2Session,
  path: string,
  body: string,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': path });
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (text += c));
    stream.on('end', () => resolve(JSON.parse(text) as Record<string, unknown>));
    stream.on('error', reject);
    stream.end(body);
  });
}

/** Sends raw bytes in pieces, each after the previous reached the server, and returns everything read until close. */
function raw(pieces: readonly (string | Buffer)[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (text += c));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    const next = (i: number): void => {
      const piece = pieces[i];
      if (piece === undefined) return;
      socket.write(piece, () => setTimeout(() => next(i + 1), 20));
    };
    socket.on('connect', () => next(0));
  });
}

/** A client-side socket for http2.connect whose first write is split in two TCP segments (the preface is cut). */
function splitFirstWrite(at: number): Duplex {
  const socket = net.connect(port, '127.0.0.1');
  let first = true;
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (!first) {
        socket.write(chunk, () => cb());
        return;
      }
      first = false;
      socket.write(chunk.subarray(0, at), () =>
        setTimeout(() => socket.write(chunk.subarray(at), () => cb()), 20),
      );
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(e, cb) {
      socket.destroy();
      cb(e);
    },
  });
  socket.on('data', (c: Buffer) => {
    if (!duplex.push(c)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('error', (e) => duplex.destroy(e));
  return duplex;
}

describe('createDualServer', () => {
  test('HTTP/1.1: requests with bodies, two on one keep-alive connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const a = await h1('/one?x=1', 'hello', agent);
    const b = await h1('/two', 'x'.repeat(100_000), agent);
    agent.destroy();
    assert.deepEqual(a.json, {
      version: '1.1',
      method: 'POST',
      url: '/one?x=1',
      bytes: 5,
      remote: '127.0.0.1',
    });
    assert.equal(b.json.bytes, 100_000);
    assert.equal(b.json.url, '/two');
  });

  test('h2c with prior knowledge: concurrent streams on one session; the peer address is known', async () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const [a, b] = await Promise.all([
        h2(session, '/a', 'abc'),
        h2(session, '/b', 'y'.repeat(200_000)),
      ]);
      assert.deepEqual(a, {
        version: '2.0',
        method: 'POST',
        url: '/a',
        bytes: 3,
        remote: '127.0.0.1',
      });
      assert.equal(b.bytes, 200_000);
    } finally {
      session.close();
    }
  });

  test('the preface cut across TCP segments is still recognised', async () => {
    const session = http2.connect(`http://127.0.0.1:${port}`, {
      createConnection: () => splitFirstWrite(7),
    });
    try {
      const seen = await h2(session, '/split', 'z');
      assert.equal(seen.version, '2.0');
    } finally {
      session.close();
    }
  });

  test('an HTTP/1.1 request whose first byte matches the preface is HTTP/1.1 once the next byte differs', async () => {
    const reply = await raw([
      'P',
      'OST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok',
    ]);
    assert.match(reply, /^HTTP\/1\.1 200 OK/);
    assert.match(reply, /"version":"1\.1","method":"POST","url":"\/p","bytes":2/);
  });

  test('the real AWS SDK v3 Bedrock client (h2c) gets its answer', async () => {
    const client = new BedrockRuntimeClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    try {
      const out = await client.send(
        new ConverseCommand({
          modelId: 'anthropic.claude-v2:1',
          messages: [{ role: 'user', content: [{ text: 'hi' }] }],
        }),
      );
      assert.equal(out.output?.message?.content?.[0]?.text, 'via 2.0');
      assert.equal(out.$metadata.requestId, 'req-1');
      assert.equal(out.usage?.totalTokens, 3);
    } finally {
      client.destroy();
    }
  });
});

describe('bad clients never take the server down', () => {
  test('garbage gets a 400 and the connection closed; the error is reported', async () => {
    errors.length = 0;
    const reply = await raw(['\u0000\u0001 not http at all\r\n\r\n']);
    assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.ok(errors.some((e) => e.where === 'http1'));
  });

  test('a request head over maxHeaderSize gets a 431', async () => {
    const reply = await raw([`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`]);
    assert.match(reply, /^HTTP\/1\.1 431 /);
  });

  test('a broken HTTP/2 session (preface, then garbage) is dropped and reported', async () => {
    errors.length = 0;
    await raw([
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
      Buffer.from('this is not an HTTP/2 frame at all, not even close'),
    ]);
    const after = await h1('/after-h2-garbage', '');
    assert.equal(after.status, 200);
    assert.ok(
      errors.some((e) => e.where === 'http2'),
      JSON.stringify(errors),
    );
  });

  test('clients that reset mid-request, on both protocols, leave the server serving', async () => {
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npartial', () => {
          socket.resetAndDestroy();
          resolve();
        });
      });
    });
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const stream = session.request({ ':method': 'POST', ':path': '/reset' });
    stream.write('partial');
    await new Promise<void>((resolve) => session.once('connect', () => resolve()));
    session.destroy();
    const after = await h1('/after-resets', 'ok');
    assert.equal(after.json.bytes, 2);
  });
});

describe('shutdown', () => {
  test('close() ends idle HTTP/1.1, HTTP/2 and silent connections instead of waiting for them', async () => {
    const own = createDualServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
    const ownPort = (own.address() as net.AddressInfo).port;
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve) => {
      http.get({ host: '127.0.0.1', port: ownPort, agent }, (res) =>
        res.resume().on('end', resolve),
      );
    });
    const session = http2.connect(`http://127.0.0.1:${ownPort}`);
    await new Promise<void>((resolve) => {
      const s = session.request({ ':path': '/' });
      s.resume().on('end', resolve).end();
    });
    const silent = net.connect(ownPort, '127.0.0.1');
    await new Promise<void>((resolve) => silent.once('connect', () => resolve()));
    const silentClosed = new Promise<void>((resolve) => silent.once('close', () => resolve()));
    await new Promise<void>((resolve) => own.close(() => resolve()));
    await silentClosed;
    agent.destroy();
    session.destroy();
  });

  test('a request head that never completes gets a 408 after headersTimeoutMs', async () => {
    const own = createDualServer((_req, res) => res.end('ok'), { headersTimeoutMs: 100 });
    await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
    const reply = await new Promise<string>((resolve) => {
      const socket = net.connect((own.address() as net.AddressInfo).port, '127.0.0.1', () => {
        socket.write('POST /slow HTTP/1.1\r\nHost: x\r\n');
      });
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
      socket.on('close', () => resolve(text));
    });
    await new Promise<void>((resolve) => own.close(() => resolve()));
    assert.match(reply, /^HTTP\/1\.1 408 /);
  });

  test('a connection that sends nothing is dropped after firstBytesTimeoutMs', async () => {
    const own = createDualServer((_req, res) => res.end('ok'), { firstBytesTimeoutMs: 50 });
    await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
    const silent = net.connect((own.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise<void>((resolve) => silent.once('close', () => resolve()));
    await new Promise<void>((resolve) => own.close(() => resolve()));
  });
});

describe('TLS: the protocol is chosen by ALPN', () => {
  const dir = new URL('../../test/support/tls/', import.meta.url);
  const cert = readFileSync(new URL('localhost.crt', dir));
  const key = readFileSync(new URL('localhost.key', dir));
  let secure: DualServer;
  let securePort: number;
  const tlsErrors: string[] = [];
  before(async () => {
    secure = createDualServer(
      (req, res) => {
        echo(req, res).catch(() => res.destroy());
      },
      { tls: { cert, key }, onError: (e, where) => tlsErrors.push(`${where}: ${e.message}`) },
    );
    await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
    securePort = (secure.address() as net.AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((resolve) => secure.close(() => resolve()));
  });

  test('HTTPS with HTTP/1.1, and h2 when the client offers it', async () => {
    const one = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: securePort,
          path: '/p',
          method: 'POST',
          ca: cert,
          servername: 'localhost',
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve(JSON.parse(text) as Record<string, unknown>));
        },
      );
      req.on('error', reject);
      req.end('hello');
    });
    assert.equal(one.version, '1.1');
    assert.equal(one.bytes, 5);
    const session = http2.connect(`https://localhost:${securePort}`, { ca: cert });
    try {
      const two = await h2(session, '/q', 'hey');
      assert.equal(two.version, '2.0');
      assert.equal(two.bytes, 3);
    } finally {
      session.close();
    }
  });

  test('the real AWS SDK v3 Bedrock client, unchanged but for trusting the CA, speaks h2 over TLS', async () => {
    // NODE_EXTRA_CA_CERTS is read when a process starts, as users trust a private CA: a child process.
    const script = `
      import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
      const client = new BedrockRuntimeClient({ endpoint: 'https://localhost:${securePort}', region: 'us-east-1',
        credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' }, maxAttempts: 1 });
      const out = await client.send(new ConverseCommand({ modelId: 'anthropic.claude-v2:1',
        messages: [{ role: 'user', content: [{ text: 'hi' }] }] }));
      process.stdout.write(out.output.message.content[0].text);
      client.destroy();`;
    const run = await runNodeScript(script, {
      ...process.env,
      NODE_EXTRA_CA_CERTS: fileURLToPath(new URL('localhost.crt', dir)),
    });
    assert.equal(run.code, 0, run.err);
    const out = run.out;
    assert.equal(out, 'via 2.0');
  });

  test('close() does not wait for a connection still in its handshake', async () => {
    const own = createDualServer(() => undefined, { tls: { cert, key } });
    await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
    const silent = net.connect((own.address() as net.AddressInfo).port, '127.0.0.1');
    silent.on('error', () => undefined);
    await new Promise<void>((resolve) => silent.once('connect', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const t0 = Date.now();
    await new Promise<void>((resolve) => own.close(() => resolve()));
    assert.ok(
      Date.now() - t0 < 2000,
      `closed in ${Date.now() - t0} ms, not at the handshake timeout`,
    );
    silent.destroy();
  });

  test('a plain-HTTP client on the TLS port is dropped and reported; the server keeps serving', async () => {
    const reply = await new Promise<string>((resolve) => {
      const socket = net.connect(securePort, '127.0.0.1', () =>
        socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      );
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (c: string) => (text += c));
      socket.on('close', () => resolve(text));
      socket.on('error', () => undefined);
    });
    assert.doesNotMatch(reply, /200 OK/);
    assert.ok(
      tlsErrors.some((e) => e.startsWith('tls: ')),
      tlsErrors.join('; '),
    );
    const session = http2.connect(`https://localhost:${securePort}`, { ca: cert });
    try {
      assert.equal((await h2(session, '/after', '')).version, '2.0');
    } finally {
      session.close();
    }
  });
});
