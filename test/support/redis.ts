/**
 * A real Redis for tests: the one at TOKENLEDGER_TEST_REDIS_URL, else a throwaway `redis-server` from PATH on a free
 * localhost port (no persistence, its own temporary directory), else a reason to skip.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createClient } from 'redis';
import { onPath } from './process.ts';
import { tempDir } from './temp-dir.ts';

export type TestRedis = { url: string; stop(): Promise<void> } | { skip: string };

const SKIP = 'no Redis: install redis-server or set TOKENLEDGER_TEST_REDIS_URL';

export async function startTestRedis(): Promise<TestRedis> {
  const given = process.env.TOKENLEDGER_TEST_REDIS_URL;
  if (given !== undefined && given !== '') return { url: given, stop: () => Promise.resolve() };
  const binary = onPath('redis-server');
  if (binary === null) return { skip: SKIP };
  return await launchRetrying(binary, false);
}

/**
 * A real Redis Cluster of `nodes` throwaway `redis-server`s (cluster mode, the slots split evenly, no replicas), or a
 * reason to skip. The URL names the first node; clients discover the others from it.
 */
export async function startTestRedisCluster(nodes = 3): Promise<TestRedis> {
  const binary = onPath('redis-server');
  if (binary === null) return { skip: SKIP };
  const servers: Launched[] = [];
  const stop = async () => {
    for (const s of servers) await s.stop();
  };
  try {
    for (let i = 0; i < nodes; i++) servers.push(await launchRetrying(binary, true));
    const clients = [];
    for (const s of servers) {
      const c = createClient({ url: s.url });
      c.on('error', () => {});
      await c.connect();
      clients.push(c);
    }
    const per = Math.ceil(16384 / nodes);
    for (const [i, c] of clients.entries())
      await c.sendCommand([
        'CLUSTER',
        'ADDSLOTSRANGE',
        String(i * per),
        String(Math.min(16383, (i + 1) * per - 1)),
      ]);
    for (const s of servers.slice(1))
      await clients[0]?.sendCommand([
        'CLUSTER',
        'MEET',
        '127.0.0.1',
        String(s.port),
        String(s.busPort),
      ]);
    const deadline = Date.now() + 15_000;
    for (const c of clients) {
      while (!/cluster_state:ok/.test(String(await c.sendCommand(['CLUSTER', 'INFO'])))) {
        if (Date.now() > deadline)
          throw new Error('the test Redis Cluster did not come up in 15 s');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    for (const c of clients) await c.close();
    return { url: servers[0]?.url ?? '', stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The end of a test file's use of `redis`: deletes every key under `prefix` (a Redis given by
 * TOKENLEDGER_TEST_REDIS_URL outlives the run: leave nothing behind in it), then stops a server started here.
 */
export async function releaseTestRedis(redis: TestRedis, prefix: string): Promise<void> {
  if (!('stop' in redis)) return;
  const client = createClient({ url: redis.url });
  client.on('error', () => {});
  await client.connect();
  const match = `${prefix.replace(/[\\*?[\]]/g, '\\$&')}*`;
  for await (const keys of client.scanIterator({ MATCH: match, COUNT: 1000 })) {
    if (keys.length > 0) await client.del(keys);
  }
  await client.close();
  await redis.stop();
}

type Launched = { url: string; port: number; busPort: number; stop(): Promise<void> };

/**
 * `launch`, tried three times: a port probed free can be taken by another process before redis-server binds it (a
 * cluster node binds two, its own and its bus port, which would default to port + 10000, a port nobody probed).
 */
async function launchRetrying(binary: string, cluster: boolean): Promise<Launched> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(binary, cluster);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function launch(binary: string, cluster: boolean): Promise<Launched> {
  const port = await freePort();
  const busPort = cluster ? await freePort() : 0;
  const extra = cluster
    ? [
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(busPort),
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        '2000',
      ]
    : [];
  const dir = tempDir('tl-redis-');
  const child = spawn(
    binary,
    [
      '--save',
      '',
      '--appendonly',
      'no',
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir.path,
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Should the test process end without calling stop, the server goes with it.
  const orphaned = () => child.kill('SIGKILL');
  process.once('exit', orphaned);
  const stop = async () => {
    process.off('exit', orphaned);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    dir.remove();
  };
  try {
    await waitForReady(child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}`, port, busPort, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once the server logs that it accepts connections; rejects when it exits first or takes over 10 s. */
async function waitForReady(child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited before accepting connections:\n${output()}`);
    }
    if (output().includes('Ready to accept connections')) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`redis-server did not get ready in 10 s:\n${output()}`);
}
