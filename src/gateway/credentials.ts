/**
 * Credentials for signing: the standard AWS chain (env, SSO, shared files, ECS/EC2 roles…) for the gateway itself,
 * and STS AssumeRole for per-team roles with a per-user `RoleSessionName` (so the IAM principal CUR allocates by and
 * CloudTrail records is the person). Assumed sessions are cached until five minutes before they expire.
 */
import type { STSClient } from '@aws-sdk/client-sts';
import type { Credentials } from './sigv4.ts';
import type { CredentialSource } from './upstream.ts';

const REFRESH_MS = 5 * 60_000;

/** `RoleSessionName` allows 2–64 of `[\w+=,.@-]`; an email fits, anything else is made to. */
export function roleSessionName(user: string): string {
  const s = user.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  return s.length >= 2 ? s : `${s}--`.slice(0, 2);
}

export function createAwsCredentialSource(opts: {
  region: string;
  /** STS endpoint override (tests, VPC endpoints); default the SDK's. */
  stsEndpoint?: string;
  durationSeconds?: number;
  now?: () => number;
}): CredentialSource {
  const now = opts.now ?? Date.now;
  // The SDK is loaded on first use: every CLI command imports this module, few sign anything.
  let chainP:
    | Promise<ReturnType<typeof import('@aws-sdk/credential-provider-node').defaultProvider>>
    | undefined;
  const chain = () => {
    chainP ??= import('@aws-sdk/credential-provider-node').then((m) => m.defaultProvider());
    return chainP;
  };
  let sts:
    | Promise<{
        client: STSClient;
        AssumeRoleCommand: typeof import('@aws-sdk/client-sts').AssumeRoleCommand;
      }>
    | undefined;
  const cache = new Map<string, Promise<Credentials>>();
  const expiries = new Map<string, number>();

  const own = async (): Promise<Credentials> => {
    const c = await (await chain())();
    return {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      ...(c.sessionToken === undefined ? {} : { sessionToken: c.sessionToken }),
      ...(c.expiration === undefined ? {} : { expiration: c.expiration }),
    };
  };

  return {
    own,
    assumed(roleArn, sessionName) {
      const id = `${roleArn}\u0000${sessionName}`;
      const exp = expiries.get(id);
      const hit = cache.get(id);
      if (hit !== undefined && (exp === undefined || exp - REFRESH_MS > now())) return hit;
      sts ??= Promise.all([import('@aws-sdk/client-sts'), chain()]).then(([m, provider]) => ({
        client: new m.STSClient({
          region: opts.region,
          credentials: provider,
          ...(opts.stsEndpoint === undefined ? {} : { endpoint: opts.stsEndpoint }),
        }),
        AssumeRoleCommand: m.AssumeRoleCommand,
      }));
      const p = sts
        .then(({ client, AssumeRoleCommand }) =>
          client.send(
            new AssumeRoleCommand({
              RoleArn: roleArn,
              RoleSessionName: sessionName,
              DurationSeconds: opts.durationSeconds ?? 3600,
            }),
          ),
        )
        .then((out): Credentials => {
          const c = out.Credentials;
          if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined)
            throw new Error(`AssumeRole ${roleArn} returned no credentials`);
          if (c.Expiration !== undefined) expiries.set(id, c.Expiration.getTime());
          return {
            accessKeyId: c.AccessKeyId,
            secretAccessKey: c.SecretAccessKey,
            ...(c.SessionToken === undefined ? {} : { sessionToken: c.SessionToken }),
            ...(c.Expiration === undefined ? {} : { expiration: c.Expiration }),
          };
        });
      p.catch(() => {
        if (cache.get(id) === p) cache.delete(id);
      });
      if (cache.size > 10_000) cache.clear();
      cache.set(id, p);
      return p;
    },
  };
}
