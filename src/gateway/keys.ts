/**
 * Virtual keys: what a caller sends instead of AWS credentials (`Authorization: Bearer …` as Bedrock API keys are sent,
 * `x-api-key`, or the OpenAI SDK's `apiKey`). A key is `tlk_<id>_<secret>`: the id is public (it names the key in
 * lists, logs and the ledger's `gateway_key` metadata), the secret is 32 random bytes. Only the SHA-256 of the whole
 * key is stored; a key has 256 bits of entropy, so a fast hash is the right one (no password stretching needed), and
 * lookups compare hashes, never secrets. The plaintext is shown once, at creation or rotation.
 */
import { hash, randomBytes } from 'node:crypto';

export const KEY_PREFIX = 'tlk_';
const KEY_RE = /^tlk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** What a key stands for: its attribution (injected as Bedrock request metadata) and its lifetime. */
export interface VirtualKey {
  readonly id: string;
  readonly name: string;
  readonly hash: string;
  readonly team: string | null;
  readonly user: string | null;
  readonly feature: string | null;
  readonly project: string | null;
  readonly environment: string | null;
  readonly createdAt: number;
  /** Epoch ms, or null for no expiry. */
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  /** Set on a key that was rotated: the id of its successor. */
  readonly replacedBy: string | null;
}

export type KeyAttributes = Pick<
  VirtualKey,
  'name' | 'team' | 'user' | 'feature' | 'project' | 'environment'
>;

/** One-shot SHA-256 (node ≥ 20.12): no Hash object per call, on every request's key check. */
export function hashKey(plaintext: string): string {
  return hash('sha256', plaintext, 'hex');
}

/** A new key: the row to store and the plaintext to show once. */
export function newKey(
  attrs: KeyAttributes,
  now: number,
  expiresAt: number | null,
): { key: VirtualKey; plaintext: string } {
  const id = randomBytes(9).toString('base64url').toLowerCase().replace(/[-_]/g, '0').slice(0, 12);
  const plaintext = `${KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
  return {
    plaintext,
    key: {
      ...attrs,
      id,
      hash: hashKey(plaintext),
      createdAt: now,
      expiresAt,
      revokedAt: null,
      replacedBy: null,
    },
  };
}

/** The key id of a well-formed key, else null (so a typo is told apart from an unknown key). */
export function keyIdOf(plaintext: string): string | null {
  return KEY_RE.exec(plaintext)?.[1] ?? null;
}

export type KeyCheck =
  | { readonly ok: true; readonly key: VirtualKey }
  | {
      readonly ok: false;
      readonly reason: 'missing' | 'malformed' | 'unknown' | 'expired' | 'revoked';
    };

/**
 * The gateway's in-memory view of the keys: hash → key. Built from the store at start and updated by the admin
 * API; a lookup is one SHA-256 and one map read.
 */
export class KeyRing {
  readonly #byHash = new Map<string, VirtualKey>();
  readonly #byId = new Map<string, VirtualKey>();

  constructor(keys: Iterable<VirtualKey> = []) {
    for (const k of keys) this.put(k);
  }

  put(key: VirtualKey): void {
    const old = this.#byId.get(key.id);
    if (old !== undefined) this.#byHash.delete(old.hash);
    this.#byId.set(key.id, key);
    this.#byHash.set(key.hash, key);
  }

  get(id: string): VirtualKey | undefined {
    return this.#byId.get(id);
  }

  list(): VirtualKey[] {
    return [...this.#byId.values()].sort(
      (a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1),
    );
  }

  check(plaintext: string | null, now: number): KeyCheck {
    if (plaintext === null || plaintext === '') return { ok: false, reason: 'missing' };
    if (!plaintext.startsWith(KEY_PREFIX) || plaintext.length > 80)
      return { ok: false, reason: 'malformed' };
    const key = this.#byHash.get(hashKey(plaintext));
    if (key === undefined)
      return { ok: false, reason: keyIdOf(plaintext) === null ? 'malformed' : 'unknown' };
    if (key.revokedAt !== null && key.revokedAt <= now) return { ok: false, reason: 'revoked' };
    if (key.expiresAt !== null && key.expiresAt <= now) return { ok: false, reason: 'expired' };
    return { ok: true, key };
  }
}

/** The caller's key from `Authorization: Bearer`, `x-api-key` (Anthropic style) or `api-key` (Azure style). */
export function keyFromHeaders(
  authorization: string | undefined,
  xApiKey: string | string[] | undefined,
): string | null {
  if (
    authorization !== undefined &&
    authorization.length > 7 &&
    authorization.slice(0, 7).toLowerCase() === 'bearer '
  )
    return authorization.slice(7).trim();
  if (typeof xApiKey === 'string') return xApiKey.trim();
  return null;
}
