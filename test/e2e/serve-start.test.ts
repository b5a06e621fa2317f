/**
 * `tokenledger gateway` and `serve` as processes that fail to start: they say why and exit, rather than hang on
 * the Redis clients and timers they had already opened.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runProcess } from '../support/process.ts';
import { startTestRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = join(import.meta.dirname, '..', '..');
const redis = await startTestRedis();
const skip = 'skip' in redis ? redis.skip : false;

describe('a server that cannot start exits', { skip }, () => {
  const dir = tempDir('tl-serve-start-');
  after(async () => {
    dir.remove();
    if ('stop' in redis) await redis.stop();
  });
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runProcess(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
      cwd: root, // where tsx resolves
      env: {
        PATH: process.env.PATH,
        TOKENLEDGER_REDIS_URL: (redis as { url: string }).url,
        AWS_REGION: 'us-east-1',
        ...env,
      },
      timeoutMs: 20_000,
    });

  test('gateway on a port in use, with its counters and keys in Redis: an error and exit code, promptly', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const { port } = busy.address() as { port: number };
    try {
      const t0 = Date.now();
      const run = await cli([
        'gateway',
        '--port',
        String(port),
        '--db',
        join(dir.path, 'a.duckdb'),
      ]);
      assert.notEqual(run.code, 0);
      assert.equal(run.code === null, false, 'it exited by itself, not killed at the timeout');
      assert.match(run.err, /EADDRINUSE/);
      assert.ok(Date.now() - t0 < 15_000);
    } finally {
      busy.close();
    }
  });

  test('serve with an otlp.tls it cannot read: the message names it, and the gateway it started is stopped', async () => {
    const config = join(dir.path, 'tokenledger.yaml');
    writeFileSync(config, 'otlp:\n  tls: { cert: nope.crt, key: nope.key }\n');
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()));
    const { port } = free.address() as { port: number };
    await new Promise<void>((r) => free.close(() => r()));
    const run = await cli([
      'serve',
      '--port',
      '0',
      '--otlp-port',
      String(port),
      '--db',
      join(dir.path, 'b.duckdb'),
      '--config',
      config,
    ]);
    assert.notEqual(run.code, 0);
    assert.equal(run.code === null, false, 'it exited by itself, not killed at the timeout');
    assert.match(run.err, /otlp\.tls\.cert: cannot read .*nope\.crt/);
  });
});
