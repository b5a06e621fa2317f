/**
 * The gateway's admin API (Bearer admin token, compared in constant time; disabled when none is configured):
 *   GET    /admin/keys                 list keys (never the secrets or their hashes)
 *   POST   /admin/keys                 create {name, team?, user?, feature?, project?, environment?, expires_days?}
 *   POST   /admin/keys/{id}/rotate     a successor with the same attribution; the old key works `grace_seconds` more
 *   DELETE /admin/keys/{id}            revoke now
 *   GET    /admin/budgets              budgets and limits: spent, reserved, remaining, period
 * The plaintext of a new key is in the creation/rotation answer only.
 */
import { timingSafeEqual } from 'node:crypto';
import { AppError } from '../core/index.ts';
import type { GatewayDeps } from './gateway.ts';
import {
  BodyTooLarge,
  bedrockError,
  type GatewayRequest,
  type GatewayResponse,
  readBody,
  sendJson,
} from './http.ts';
import { type KeyAttributes, newKey, type VirtualKey } from './keys.ts';

const DAY_MS = 86_400_000;
const NAME = /^[\w .@:/+=,-]{1,128}$/;

/** A key as the API and `keys list` show it. */
export function publicKey(k: VirtualKey, now: number) {
  return {
    id: k.id,
    name: k.name,
    team: k.team,
    user: k.user,
    feature: k.feature,
    project: k.project,
    environment: k.environment,
    created_at: new Date(k.createdAt).toISOString(),
    expires_at: k.expiresAt === null ? null : new Date(k.expiresAt).toISOString(),
    revoked_at: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString(),
    replaced_by: k.replacedBy,
    status:
      k.revokedAt !== null && k.revokedAt <= now
        ? 'revoked'
        : k.expiresAt !== null && k.expiresAt <= now
          ? 'expired'
          : 'active',
  };
}

/** Validates key attributes from JSON or CLI flags; throws a message naming the field. */
export function keyAttributes(input: Record<string, unknown>): KeyAttributes {
  const field = (name: string, required = false): string | null => {
    const v = input[name];
    if (v === undefined || v === null) {
      if (required) throw new Error(`${name} is required`);
      return null;
    }
    if (typeof v !== 'string' || !NAME.test(v))
      throw new Error(
        `${name} must be 1–128 characters of letters, digits and . _ @ : / + = , - or space`,
      );
    return v;
  };
  return {
    name: field('name', true) as string,
    team: field('team'),
    user: field('user'),
    feature: field('feature'),
    project: field('project'),
    environment: field('environment'),
  };
}

/** Whether the request carries `Authorization: Bearer <token>` (compared in constant time). */
export function authorised(req: GatewayRequest, token: string): boolean {
  const h = req.headers.authorization;
  if (h === undefined || !h.startsWith('Bearer ')) return false;
  const given = Buffer.from(h.slice(7));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export async function handleAdmin(
  req: GatewayRequest,
  res: GatewayResponse,
  path: string,
  deps: GatewayDeps,
  now: () => number,
): Promise<void> {
  const token = deps.options.adminToken;
  if (token === null)
    return bedrockError(
      res,
      404,
      'UnknownOperationException',
      'the admin API is disabled (set TOKENLEDGER_ADMIN_TOKEN)',
    );
  if (!authorised(req, token))
    return bedrockError(res, 401, 'UnrecognizedClientException', 'admin token required');
  const parts = path.split('/').filter((p) => p !== '');
  const t = now();
  if (parts[1] === 'budgets' && parts.length === 2 && req.method === 'GET')
    return sendJson(
      res,
      200,
      JSON.stringify(await deps.governor.status(t), (_, v) =>
        typeof v === 'bigint' ? v.toString() : v,
      ),
    );
  if (parts[1] !== 'keys')
    return bedrockError(res, 404, 'UnknownOperationException', 'unknown admin route');
  if (parts.length === 2 && req.method === 'GET')
    return sendJson(res, 200, JSON.stringify(deps.keys.list().map((k) => publicKey(k, t))));
  let input: Record<string, unknown> = {};
  if (req.method === 'POST') {
    try {
      const body = await readBody(req, 64 * 1024);
      if (body.length > 0) {
        const v: unknown = JSON.parse(body.toString('utf8'));
        if (v === null || typeof v !== 'object' || Array.isArray(v))
          throw new Error('the body must be a JSON object');
        input = v as Record<string, unknown>;
      }
    } catch (e) {
      if (e instanceof BodyTooLarge)
        return bedrockError(res, 413, 'ValidationException', 'body too large');
      return bedrockError(res, 400, 'ValidationException', (e as Error).message);
    }
  }
  if (parts.length === 2 && req.method === 'POST') {
    let attrs: KeyAttributes;
    let expires: number | null;
    try {
      attrs = keyAttributes(input);
      expires = expiryOf(input.expires_days, t);
    } catch (e) {
      return bedrockError(res, 400, 'ValidationException', (e as Error).message);
    }
    const { key, plaintext } = newKey(attrs, t, expires);
    return sendJson(
      res,
      201,
      JSON.stringify({ ...publicKey(key, t), key: plaintext, ...(await apply(deps, [key])) }),
    );
  }
  const id = parts[2] ?? '';
  const old = deps.keys.get(id);
  if (old === undefined)
    return bedrockError(res, 404, 'ResourceNotFoundException', `no key ${id.slice(0, 40)}`);
  if (parts.length === 3 && req.method === 'DELETE') {
    const revoked = revokedKey(old, t);
    return sendJson(
      res,
      200,
      JSON.stringify({ ...publicKey(revoked, t), ...(await apply(deps, [revoked])) }),
    );
  }
  if (parts.length === 4 && parts[3] === 'rotate' && req.method === 'POST') {
    let grace: number;
    try {
      grace = graceOf(input.grace_seconds ?? 0);
    } catch (e: unknown) {
      return bedrockError(res, 400, 'ValidationException', (e as Error).message);
    }
    let rotated: ReturnType<typeof rotate>;
    try {
      rotated = rotate(old, t);
    } catch (e: unknown) {
      return bedrockError(res, 409, 'ConflictException', (e as Error).message);
    }
    const { key, plaintext } = rotated;
    const retired = { ...revokedKey(old, t + grace * 1000), replacedBy: key.id };
    return sendJson(
      res,
      201,
      JSON.stringify({
        ...publicKey(key, t),
        key: plaintext,
        // The key it replaces, as stored: when it stops working (its revocation, or its expiry if sooner).
        replaced: publicKey(retired, t),
        ...(await apply(deps, [key, retired])),
      }),
    );
  }
  return bedrockError(res, 405, 'UnknownOperationException', 'method not allowed');
}

/**
 * Stores changed keys, then serves with them; with shared keys also publishes them (`shared`: whether the other
 * replicas can see the change yet; if not, it is sent again until they can).
 */
async function apply(
  deps: GatewayDeps,
  keys: readonly VirtualKey[],
): Promise<{ shared?: boolean }> {
  await deps.saveKeys(keys);
  for (const k of keys) deps.keys.put(k);
  return deps.shareKeys === undefined ? {} : { shared: await deps.shareKeys(keys) };
}

/**
 * A key revoked at `at`, unless it already was, earlier: a revocation is never moved later (rotating a revoked key
 * with a grace period must not bring it back for the grace).
 */
export function revokedKey(old: VirtualKey, at: number): VirtualKey {
  return old.revokedAt !== null && old.revokedAt <= at ? old : { ...old, revokedAt: at };
}

/**
 * A successor of a key: same attribution and remaining lifetime. A key revoked (or already rotated, its grace
 * running) has none: a revocation is final, and rotating such a key would hand out a working key in its place.
 */
export function rotate(old: VirtualKey, now: number): { key: VirtualKey; plaintext: string } {
  if (old.revokedAt !== null)
    throw new AppError(
      'gateway.key_revoked',
      old.revokedAt <= now
        ? `key ${old.id} is revoked: a revoked key cannot be rotated (create a new one)`
        : `key ${old.id} was rotated already${old.replacedBy ? ` (replaced by ${old.replacedBy})` : ''}`,
    );
  const { name, team, user, feature, project, environment } = old;
  return newKey({ name, team, user, feature, project, environment }, now, old.expiresAt);
}

/** A key's expiry `days` from now; `name` is the field or flag the message names. */
export function expiryOf(days: unknown, now: number, name = 'expires_days'): number | null {
  if (days === undefined || days === null) return null;
  if (typeof days !== 'number' || !Number.isFinite(days) || days <= 0 || days > 3650)
    throw new Error(`${name} must be a number of days, more than 0 and at most 3650`);
  return now + Math.round(days * DAY_MS);
}

/** How long a rotated key keeps working, in seconds: a whole number up to 30 days. */
export const MAX_GRACE_SECONDS = 30 * 86_400;
export function graceOf(seconds: unknown, name = 'grace_seconds'): number {
  if (
    typeof seconds !== 'number' ||
    !Number.isInteger(seconds) ||
    seconds < 0 ||
    seconds > MAX_GRACE_SECONDS
  )
    throw new Error(`${name} must be a whole number of seconds from 0 to ${MAX_GRACE_SECONDS}`);
  return seconds;
}
