/**
 * `tokenledger keys create|list|rotate|revoke`: the gateway's virtual keys. Against the ledger file, or — while a
 * gateway holds the file — through its admin API (`--gateway URL`, $TOKENLEDGER_GATEWAY_URL, with
 * $TOKENLEDGER_ADMIN_TOKEN).
 */

import { AppError } from '../../core/index.ts';
import {
  expiryOf,
  graceOf,
  keyAttributes,
  newKey,
  publicKey,
  revokedKey,
  rotate,
} from '../../gateway/index.ts';
import { int, parse, str } from '../args.ts';
import { type CliContext, EXIT, print, withRuntime } from '../context.ts';
import { renderTable } from '../format.ts';

export const KEYS_HELP = `Usage:
  tokenledger keys create --name NAME [--team T] [--user U] [--feature F] [--project P]
                          [--environment E] [--expires-days N]
  tokenledger keys list [--json]
  tokenledger keys rotate ID [--grace-seconds N]
  tokenledger keys revoke ID
  (each also takes --db FILE, or --gateway URL to go through a running gateway's admin API)

Virtual keys for the gateway. Callers send one as Bedrock API keys are sent
(AWS_BEARER_TOKEN_BEDROCK / Authorization: Bearer), or as x-api-key, or as the OpenAI SDK's apiKey.
The gateway injects the key's team, user, feature, project and environment into each call as Bedrock
request metadata. Only the key's SHA-256 is stored: the key itself is printed once, by create and rotate.
A rotated key keeps working for --grace-seconds (default 0) so callers can switch over.`;

interface Shown {
  id: string;
  name: string;
  team: string | null;
  user: string | null;
  status: string;
  expires_at: string | null;
  revoked_at: string | null;
  /** From rotate: the key it replaced, as stored. */
  replaced?: Shown;
  key?: string;
  /** From a gateway whose replicas share keys: whether the others can see the change yet. */
  shared?: boolean;
}

export async function keysCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {
    name: { type: 'string' },
    team: { type: 'string' },
    user: { type: 'string' },
    feature: { type: 'string' },
    project: { type: 'string' },
    environment: { type: 'string' },
    'expires-days': { type: 'string' },
    'grace-seconds': { type: 'string' },
    gateway: { type: 'string' },
    json: { type: 'boolean' },
  });
  const [action, id] = positionals;
  if (flags.help || action === undefined) {
    print(ctx, KEYS_HELP);
    return flags.help ? EXIT.ok : EXIT.usage;
  }
  const input: Record<string, unknown> = {};
  for (const f of ['name', 'team', 'user', 'feature', 'project', 'environment'])
    if (str(flags, f) !== undefined) input[f] = str(flags, f);
  // Flags are checked here, named as typed, before anything is written (the API checks the same rules).
  const usage = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      throw new AppError('cli.usage', (e as Error).message);
    }
  };
  const daysFlag = str(flags, 'expires-days');
  if (daysFlag !== undefined) {
    const days = daysFlag.trim() === '' ? Number.NaN : Number(daysFlag);
    usage(() => expiryOf(days, 0, `--expires-days (got ${daysFlag})`));
    input.expires_days = days;
  }
  const grace = usage(() =>
    graceOf(int(flags, 'grace-seconds', 0), `--grace-seconds (got ${str(flags, 'grace-seconds')})`),
  );
  if ((action === 'rotate' || action === 'revoke') && id === undefined)
    throw new AppError('cli.usage', `keys ${action} needs the key id (see keys list)`);
  if (!['create', 'list', 'rotate', 'revoke'].includes(action))
    throw new AppError(
      'cli.usage',
      `unknown keys action ${action}: create, list, rotate or revoke`,
    );

  const gateway = str(flags, 'gateway') ?? ctx.env.TOKENLEDGER_GATEWAY_URL;
  const result =
    gateway !== undefined
      ? await viaApi(ctx, gateway, action, id, input, grace)
      : await withRuntime(ctx, flags, async (rt) => {
          const now = ctx.now();
          const store = rt.store.gatewayKeys;
          const find = async () => {
            const k = (await store.list()).find((k) => k.id === id);
            if (k === undefined)
              throw new AppError(
                'gateway.key_not_found',
                `no key ${id} (see tokenledger keys list)`,
              );
            return k;
          };
          switch (action) {
            case 'create': {
              const attrs = usage(() => keyAttributes(input));
              const { key, plaintext } = newKey(
                attrs,
                now,
                usage(() => expiryOf(input.expires_days, now)),
              );
              await store.put([key]);
              return [{ ...publicKey(key, now), key: plaintext }];
            }
            case 'rotate': {
              const old = await find();
              const { key, plaintext } = rotate(old, now);
              const retired = { ...revokedKey(old, now + grace * 1000), replacedBy: key.id };
              await store.put([key, retired]);
              return [
                { ...publicKey(key, now), key: plaintext, replaced: publicKey(retired, now) },
              ];
            }
            case 'revoke': {
              const old = await find();
              const revoked = revokedKey(old, now);
              await store.put([revoked]);
              return [publicKey(revoked, now)];
            }
            default:
              return (await store.list()).map((k) => publicKey(k, now));
          }
        });
  if (flags.json === true) {
    print(ctx, JSON.stringify(action === 'list' ? result : result[0]));
    return EXIT.ok;
  }
  const shown = result as Shown[];
  // A gateway whose replicas share keys says whether the others can see the change yet.
  const pending =
    shown[0]?.shared === false
      ? '\nNote: the gateway could not reach Redis; the other replicas get this change when it is back.'
      : '';
  if (action === 'create' || action === 'rotate') {
    const k = shown[0] as Shown;
    const old = k.replaced === undefined ? '' : `${replacedNote(k.replaced)}\n`;
    print(
      ctx,
      old +
        `Created key ${k.id} (${k.name}${k.team === null ? '' : `, team ${k.team}`}${k.user === null ? '' : `, user ${k.user}`}).\n` +
        `Key (shown once, store it now):\n  ${k.key}\n` +
        'Callers: export AWS_BEARER_TOKEN_BEDROCK=<key> (AWS SDK, Claude Code) or pass it as the OpenAI apiKey.' +
        pending,
    );
    return EXIT.ok;
  }
  if (action === 'revoke') {
    print(ctx, `Revoked key ${(shown[0] as Shown).id}.${pending}`);
    return EXIT.ok;
  }
  if (shown.length === 0) {
    print(ctx, 'No keys yet: tokenledger keys create --name NAME --team TEAM');
    return EXIT.ok;
  }
  print(
    ctx,
    renderTable(
      ['ID', 'NAME', 'TEAM', 'USER', 'STATUS', 'EXPIRES'],
      shown.map((k) => [
        k.id,
        k.name,
        k.team ?? '',
        k.user ?? '',
        // A rotated key in its grace period is active until its revocation, which is shown then.
        k.status === 'active' && k.revoked_at !== null
          ? `active until ${k.revoked_at.slice(0, 16)}Z`
          : k.status,
        k.expires_at?.slice(0, 10) ?? 'never',
      ]),
      [false, false, false, false, false, false],
    ),
  );
  return EXIT.ok;
}

async function viaApi(
  ctx: CliContext,
  base: string,
  action: string,
  id: string | undefined,
  input: Record<string, unknown>,
  grace: number,
): Promise<Shown[]> {
  const token = ctx.env.TOKENLEDGER_ADMIN_TOKEN;
  if (token === undefined)
    throw new AppError('cli.usage', 'set TOKENLEDGER_ADMIN_TOKEN to use the admin API');
  const url = base.replace(/\/+$/, '');
  const [method, path, body] =
    action === 'create'
      ? ['POST', '/admin/keys', input]
      : action === 'rotate'
        ? ['POST', `/admin/keys/${encodeURIComponent(id ?? '')}/rotate`, { grace_seconds: grace }]
        : action === 'revoke'
          ? ['DELETE', `/admin/keys/${encodeURIComponent(id ?? '')}`, undefined]
          : ['GET', '/admin/keys', undefined];
  let res: Response;
  try {
    res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (e) {
    throw new AppError(
      'gateway.unreachable',
      `cannot reach the gateway at ${url}: ${(e as Error).message}`,
    );
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = String((JSON.parse(text) as { message?: unknown }).message ?? text);
    } catch {}
    throw new AppError('gateway.admin', `the gateway answered ${res.status}: ${message}`);
  }
  const parsed = JSON.parse(text) as Shown | Shown[];
  return Array.isArray(parsed) ? parsed : [parsed];
}

/** What rotate did to the old key: revoked now, or working until its revocation (or its expiry, if sooner). */
function replacedNote(old: Shown): string {
  if (old.status !== 'active') return `The old key ${old.id} is ${old.status}.`;
  const ends = [old.revoked_at, old.expires_at].filter((t): t is string => t !== null).sort()[0];
  return ends === undefined
    ? `The old key ${old.id} keeps working.`
    : `The old key ${old.id} keeps working until ${ends}${ends === old.revoked_at ? '' : ' (when it expires)'}.`;
}
