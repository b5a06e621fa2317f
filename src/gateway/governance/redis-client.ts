/**
 * The gateway's Redis, as its two users need it (the shared counters, the shared keys): Lua scripts, a few plain
 * commands, a consistent read of several hashes, a scan. One Redis (or a primary with replicas) or a Redis Cluster
 * (ElastiCache Serverless always is one): which, is asked at connection (`CLUSTER INFO`).
 *
 * Cluster: a script, a MULTI and a multi-key command must touch keys of one hash slot, and the scripts also compute
 * key names from the prefix (holds). So on a cluster every key of a store lives under one hash tag — `keyPrefix`
 * wraps the configured prefix in `{…}` unless it already holds a tag — and every call names one key of the store,
 * which routes it to the node serving that slot. A store's keys then sit on one shard: it serves every replica's
 * admissions (two short scripts per call), well within one Redis node. On one Redis the prefix stays as configured
 * (keys keep the names they had before clusters were supported).
 *
 * Alike for both: connect with a few quick retries then give up (a gateway should not start against a Redis it
 * cannot reach), reconnect for as long as it takes once connected (at most 2 s apart), never queue commands while
 * disconnected, and bound every call's wait, so that a Redis that hangs without closing the connection cannot stall
 * a caller (the command may still run later).
 */
import { createHash } from 'node:crypto';
import { createClient, createCluster } from 'redis';
import { withoutCredentials } from '../../core/index.ts';

/** Connection attempts before the first connection gives up (about 5 s). */
const INITIAL_RETRIES = 9;

/** A Lua script and its SHA-1 (EVALSHA, then EVAL when the node does not have it yet). */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

export function luaScript(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * The configured prefix as a hash tag (`tokenledger:` → `{tokenledger:}`), unless it already holds one — by Redis's
 * rule: the first `{` and the first `}` after it, with something between them.
 */
export function taggedPrefix(prefix: string): string {
  const open = prefix.indexOf('{');
  const close = open < 0 ? -1 : prefix.indexOf('}', open + 1);
  return close > open + 1 ? prefix : `{${prefix}}`;
}

export interface RedisPortOptions {
  readonly url: string;
  /** Connection errors (the client reconnects by itself); default: ignored, since calls reject on their own. */
  readonly onError?: (error: Error) => void;
  /** A call Redis has not answered in this long rejects; default 2000 ms. */
  readonly commandTimeoutMs?: number;
}

export interface RedisPort {
  /** Whether Redis is a cluster. */
  readonly cluster: boolean;
  /** The prefix a store's keys take here: `taggedPrefix` on a cluster, as configured on one Redis. */
  keyPrefix(configured: string): string;
  /** Runs a script; `keys[0]` routes it (every key of the call must be in its slot). */
  script(
    script: LuaScript,
    keys: readonly string[],
    args: readonly string[],
    what: string,
  ): Promise<unknown>;
  get(key: string, what: string): Promise<string | null>;
  /** SET NX: true if this call set it. */
  setIfAbsent(key: string, value: string, what: string): Promise<boolean>;
  /** HGETALL of each key in one MULTI (one slot): a consistent snapshot. */
  hashes(keys: readonly string[], what: string): Promise<Record<string, string>[]>;
  /** Key names matching `match`, on the node that serves `routeKey`'s slot. */
  scan(match: string, routeKey: string): AsyncIterable<string>;
  close(): Promise<void>;
}

/** What this module uses of a node-redis client (standalone, or one node of a cluster). */
interface Commands {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: { condition: 'NX' }): Promise<string | null>;
  multi(): { hGetAll(key: string): unknown; exec(): Promise<unknown[]> };
}
interface NodeClient extends Commands {
  scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string[]>;
}
interface ClusterClient extends Commands {
  getNodeClientForKey(key: string): Promise<NodeClient>;
}
interface Connectable {
  on(event: 'error' | 'node-error', listener: (error: unknown) => void): unknown;
  connect(): Promise<unknown>;
  destroy(): void;
  close(): Promise<void>;
  readonly isOpen: boolean;
}

/** Connects to the Redis (or Redis Cluster) at `url`; rejects if it stays unreachable for about 5 s. */
export async function openRedis(options: RedisPortOptions): Promise<RedisPort> {
  const onError = options.onError ?? (() => {});
  const timeoutMs = options.commandTimeoutMs ?? 2000;
  const timed = <T>(call: Promise<T>, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis did not answer ${what} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    call.catch(() => undefined); // settled after the timeout: nobody is waiting
    return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
  };

  let connected = false;
  const reconnectStrategy = (retries: number, cause: Error): number | Error =>
    connected || retries < INITIAL_RETRIES ? Math.min(100 * (retries + 1), 2000) : cause;
  const open = async <C extends Connectable>(client: C): Promise<C> => {
    const report = (error: unknown) =>
      onError(error instanceof Error ? error : new Error(String(error)));
    client.on('error', report);
    // A cluster reports its nodes' connection errors as 'node-error'.
    client.on('node-error', report);
    try {
      await client.connect();
    } catch (error) {
      client.destroy();
      throw error;
    }
    return client;
  };

  const single = await open(
    createClient({ url: options.url, disableOfflineQueue: true, socket: { reconnectStrategy } }),
  );
  // CLUSTER INFO answers on a cluster node (ElastiCache Serverless included) and fails on a Redis without cluster
  // support ("cluster support disabled"), or one that does not know the command. Any other failure (an ACL that
  // forbids it, no answer) says nothing: guessing "single" would turn every later call into a MOVED error.
  let cluster = true;
  try {
    await timed(single.sendCommand(['CLUSTER', 'INFO']), 'CLUSTER INFO');
  } catch (e: unknown) {
    const message = String((e as Error).message);
    if (!/cluster support disabled|unknown command/i.test(message)) {
      await single.close().catch(() => undefined);
      throw new Error(
        `cannot tell whether the Redis at ${withoutCredentials(options.url)} is a cluster (CLUSTER INFO: ${message}); allow the command (ACL: +cluster|info)`,
        { cause: e },
      );
    }
    cluster = false;
  }
  let client: Connectable & Commands = single as unknown as Connectable & Commands;
  if (cluster) {
    await single.close();
    // The nodes the cluster reports are reached with the URL's credentials and TLS.
    const u = new URL(options.url);
    const defaults = {
      ...(u.username === '' ? {} : { username: decodeURIComponent(u.username) }),
      ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
      disableOfflineQueue: true,
      socket: { reconnectStrategy, ...(u.protocol === 'rediss:' ? { tls: true as const } : {}) },
    };
    client = (await open(
      createCluster({ rootNodes: [{ url: options.url }], defaults }) as unknown as Connectable &
        Commands,
    )) as Connectable & Commands;
  }
  connected = true;

  return {
    cluster,
    keyPrefix: (configured) => (cluster ? taggedPrefix(configured) : configured),
    script(script, keys, args, what) {
      const call = { keys: [...keys], arguments: [...args] };
      return timed(
        client.evalSha(script.sha, call).catch((e: unknown) => {
          if (!String((e as Error).message).startsWith('NOSCRIPT')) throw e;
          return client.eval(script.source, call);
        }),
        what,
      );
    },
    get: (key, what) => timed(client.get(key), what),
    async setIfAbsent(key, value, what) {
      return (await timed(client.set(key, value, { condition: 'NX' }), what)) !== null;
    },
    async hashes(keys, what) {
      const multi = client.multi();
      for (const k of keys) multi.hGetAll(k);
      return (await timed(multi.exec(), what)) as Record<string, string>[];
    },
    async *scan(match, routeKey) {
      const node = cluster
        ? await (client as unknown as ClusterClient).getNodeClientForKey(routeKey)
        : (client as unknown as NodeClient);
      for await (const batch of node.scanIterator({ MATCH: match, COUNT: 1000 }))
        for (const name of batch) yield String(name);
    },
    async close() {
      if (client.isOpen) await client.close();
    },
  };
}
