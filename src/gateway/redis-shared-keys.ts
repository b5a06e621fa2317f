/**
 * `SharedKeys` in Redis, beside the shared counters (same URL and prefix). These keys:
 * - `<prefix>keys`: hash, key id → the key's identity and attribution as JSON (id, name, SHA-256 hash, team, user,
 *   feature, project, environment, createdAt, expiresAt), written once (HSETNX: a key's identity never changes);
 * - `<prefix>keys:revoked`: hash, key id → revocation time (epoch ms), lowered only (the earlier revocation wins);
 * - `<prefix>keys:replaced`: hash, key id → its successor's id, written once;
 * - `<prefix>keys:version`: a counter raised by every publish that changed something;
 * - `<prefix>keys:epoch`: a random id set by the first publish into an empty Redis (key-sync.ts: how replicas notice
 *   a Redis that lost its data);
 * - `<prefix>keys:sig`: hash, key id → HMAC-SHA256 of its identity JSON under the fleet's `secret`, when one is set.
 * A publish is one Lua script (atomic); a read is one MULTI of HGETALLs (a consistent snapshot). Only hashes of keys
 * are stored, as in the ledger. None of these expire: keys are few, and a revoked key's entry is what keeps it
 * revoked. On a Redis Cluster they share the counters' hash tag (redis-client.ts).
 *
 * Trust: whoever can write to this Redis could add a key of their own. With a `secret` (the same on every replica)
 * each identity is signed, and a replica takes in only identities signed with it: a planted key is skipped and
 * counted unreadable. Signatures are overwritten by every publish (an identity is the same for every replica, so
 * is its signature), so after the secret changes the replicas that restart with the new one sign their keys again.
 * Revocations need no signature: a planted one can only refuse a key, never admit one.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { luaScript, openRedis } from './governance/redis-client.ts';
import type { SharedKeys } from './key-sync.ts';
import type { VirtualKey } from './keys.ts';

export interface RedisSharedKeysOptions {
  readonly url: string;
  /** Starts every Redis key; default 'tokenledger:'. */
  readonly prefix?: string;
  readonly onError?: (error: Error) => void;
  /** A call Redis has not answered in this long rejects; default 2000 ms. */
  readonly commandTimeoutMs?: number;
  /** The fleet's secret: identities are signed with it, and only signed ones are taken in. */
  readonly secret?: string;
}

/** Keys per publish script: bounds one script's run (Redis runs scripts alone). */
const PUBLISH_CHUNK = 500;

const PUBLISH_LUA = `
local changed = 0
if redis.call('SETNX', KEYS[5], ARGV[1]) == 1 then changed = 1 end
for i = 2, #ARGV, 5 do
  local id = ARGV[i]
  if redis.call('HSETNX', KEYS[1], id, ARGV[i + 1]) == 1 then changed = 1 end
  local revoked = ARGV[i + 2]
  if revoked ~= '' then
    -- A value that is not a number (written by something else) counts as no revocation.
    local current = tonumber(redis.call('HGET', KEYS[2], id) or '')
    if not current or tonumber(revoked) < current then
      redis.call('HSET', KEYS[2], id, revoked)
      changed = 1
    end
  end
  local successor = ARGV[i + 3]
  if successor ~= '' and redis.call('HSETNX', KEYS[3], id, successor) == 1 then changed = 1 end
  local sig = ARGV[i + 4]
  if sig ~= '' and redis.call('HGET', KEYS[6], id) ~= sig then
    redis.call('HSET', KEYS[6], id, sig)
    changed = 1
  end
end
if changed == 1 then redis.call('INCR', KEYS[4]) end
return changed
`;

const PUBLISH = luaScript(PUBLISH_LUA);
/** The epoch and the counter, read together. */
const VERSION = luaScript(
  `return { redis.call('GET', KEYS[2]) or '', redis.call('GET', KEYS[1]) or '0' }`,
);

type Identity = Omit<VirtualKey, 'revokedAt' | 'replacedBy'>;

export async function createRedisSharedKeys(options: RedisSharedKeysOptions): Promise<SharedKeys> {
  const redis = await openRedis(options);
  const prefix = redis.keyPrefix(options.prefix ?? 'tokenledger:');
  const names = [
    `${prefix}keys`,
    `${prefix}keys:revoked`,
    `${prefix}keys:replaced`,
    `${prefix}keys:version`,
    `${prefix}keys:epoch`,
    `${prefix}keys:sig`,
  ];
  const [records, revoked, replaced, version, epoch, sigs] = names as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const secret = options.secret;
  const sign = (json: string) =>
    secret === undefined ? '' : createHmac('sha256', secret).update(json).digest('hex');
  const signedBy = (json: string, sig: string | undefined) => {
    if (sig === undefined || !/^[0-9a-f]{64}$/.test(sig)) return false;
    return timingSafeEqual(Buffer.from(sign(json), 'hex'), Buffer.from(sig, 'hex'));
  };

  return {
    async publish(keys) {
      // Nothing to publish still sets the epoch of an empty Redis.
      for (let i = 0; i < Math.max(keys.length, 1); i += PUBLISH_CHUNK) {
        const args: string[] = [randomUUID()];
        for (const k of keys.slice(i, i + PUBLISH_CHUNK)) {
          const identity: Identity = {
            id: k.id,
            name: k.name,
            hash: k.hash,
            team: k.team,
            user: k.user,
            feature: k.feature,
            project: k.project,
            environment: k.environment,
            createdAt: k.createdAt,
            expiresAt: k.expiresAt,
          };
          const json = JSON.stringify(identity);
          args.push(
            k.id,
            json,
            k.revokedAt === null ? '' : String(k.revokedAt),
            k.replacedBy ?? '',
            sign(json),
          );
        }
        await redis.script(PUBLISH, names, args, 'publish keys');
      }
    },

    async version() {
      const [e, counter] = (await redis.script(VERSION, [version, epoch], [], 'keys version')) as [
        string,
        string,
      ];
      return { epoch: e === '' ? null : e, counter };
    },

    async all() {
      const [ids = {}, revokedAt = {}, successors = {}, signatures = {}] = await redis.hashes(
        [records, revoked, replaced, sigs],
        'read keys',
      );
      const keys: VirtualKey[] = [];
      let unreadable = 0;
      for (const [id, json] of Object.entries(ids)) {
        const identity = identityOf(id, json);
        if (identity === null || (secret !== undefined && !signedBy(json, signatures[id]))) {
          unreadable++;
          continue;
        }
        const r = revokedAt[id];
        const revokedMs = r === undefined ? null : Number(r);
        if (revokedMs !== null && !Number.isSafeInteger(revokedMs)) {
          unreadable++;
          continue;
        }
        keys.push({ ...identity, revokedAt: revokedMs, replacedBy: successors[id] ?? null });
      }
      return { keys, unreadable };
    },

    close: () => redis.close(),
  };
}

const ID = /^[a-z0-9]{12}$/;
const HASH = /^[0-9a-f]{64}$/;

/** A shared entry read back, checked field by field (Redis is outside this process: never trusted blindly). */
function identityOf(id: string, json: string): Identity | null {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const text = (x: unknown) => x === null || typeof x === 'string';
  const ms = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x);
  if (
    o.id !== id ||
    !ID.test(id) ||
    typeof o.hash !== 'string' ||
    !HASH.test(o.hash) ||
    typeof o.name !== 'string' ||
    !text(o.team) ||
    !text(o.user) ||
    !text(o.feature) ||
    !text(o.project) ||
    !text(o.environment) ||
    !ms(o.createdAt) ||
    !(o.expiresAt === null || ms(o.expiresAt))
  )
    return null;
  return {
    id,
    name: o.name,
    hash: o.hash,
    team: o.team as string | null,
    user: o.user as string | null,
    feature: o.feature as string | null,
    project: o.project as string | null,
    environment: o.environment as string | null,
    createdAt: o.createdAt as number,
    expiresAt: o.expiresAt as number | null,
  };
}
