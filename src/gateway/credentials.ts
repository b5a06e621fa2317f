/**
 * Credentials for signing: the standard AWS chain (env, SSO, shared files, ECS/EC2 roles…) for the gateway itself,
 * and STS AssumeRole for per-team roles with a per-user `RoleSessionName` (so the IAM principal CUR allocates by and
 * CloudTrail records is the person). Assumed sessions are cached until five minutes before they expire; one refresh
 * at a time per session; a failed AssumeRole is remembered for a few seconds (so a denied role does not send one
 * STS call per request), and a failed refresh keeps serving the previous session until it actually expires.
 */
import type { STSClient } from '@aws-sdk/client-sts';
import { AppError, type AwsRequestHandler, type Logger } from '../core/index.ts';
import type { Credentials } from './sigv4.ts';
import type { CredentialSource } from './upstream.ts';

const REFRESH_MS = 5 * 60_000;
const MAX_SESSIONS = 10_000;

/** `RoleSessionName` allows 2–64 of `[\w+=,.@-]`; an email fits, anything else is made to. */
export function roleSessionName(user: string): string {
  const s = user.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  return s.length >= 2 ? s : `${s}--`.slice(0, 2);
}

/**
 * The STS endpoint AWS SDKs would use: config (`gateway.upstream.stsEndpoint`), `AWS_ENDPOINT_URL_STS`,
 * `AWS_ENDPOINT_URL`, else undefined (the SDK's regional endpoint).
 */
export function stsEndpoint(
  configured: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  const e = configured ?? (env.AWS_ENDPOINT_URL_STS || env.AWS_ENDPOINT_URL || undefined);
  return e?.replace(/\/+$/, '');
}

export interface AwsCredentialSourceOptions {
  readonly region: string;
  /** STS endpoint override (VPC endpoints, tests); default the SDK's (which also reads `AWS_ENDPOINT_URL_STS`). */
  readonly stsEndpoint?: string | undefined;
  /** Requested session lifetime; default 3600 (the most role chaining allows). */
  readonly durationSeconds?: number;
  /** How long a failed AssumeRole is answered from memory before STS is asked again; default 5 s. */
  readonly failureCacheMs?: number;
  /** The gateway's own credentials, which also sign the AssumeRole calls; default the standard AWS chain. */
  readonly own?: () => Promise<Credentials>;
  readonly now?: () => number;
  /** AssumeRole failures, with STS's full message (the caller only sees the code). */
  readonly log?: Logger;
  /**
   * The SDK request handler for an AWS endpoint, when it must go through an HTTP proxy (else undefined): for STS,
   * and for the clients of the credential chain (SSO, web identity), decided on the STS endpoint.
   */
  readonly requestHandler?: (endpoint: string) => AwsRequestHandler | undefined;
}

/** One assumed-role session: in flight (`refreshAt` null) or settled until `refreshAt`. */
interface Session {
  readonly creds: Promise<Credentials>;
  readonly state: {
    refreshAt: number | null;
    /** The last credentials STS issued, served while a refresh fails and they have not expired. */
    last: Credentials | null;
  };
}

type StsHandle = {
  client: STSClient;
  AssumeRoleCommand: typeof import('@aws-sdk/client-sts').AssumeRoleCommand;
};

/** The error a caller gets when its team's role cannot be assumed: the code, not STS's message (it names our principal). */
function assumeRoleError(roleArn: string, sessionName: string, e: unknown): AppError {
  const code = e instanceof Error ? e.name : 'Error';
  const fault = (e as { $fault?: unknown } | null)?.$fault;
  return new AppError(
    'gateway.assume_role_failed',
    `AssumeRole ${roleArn} (session ${sessionName}) failed: ${code}`,
    { retryable: fault === 'server' || code === 'Throttling', cause: e },
  );
}

export function createAwsCredentialSource(opts: AwsCredentialSourceOptions): CredentialSource {
  const now = opts.now ?? Date.now;
  const failureMs = opts.failureCacheMs ?? 5000;
  const stsUrl = opts.stsEndpoint ?? `https://sts.${opts.region}.amazonaws.com`;
  // The SDK is loaded on first use: every CLI command imports this module, few sign anything.
  let chainP:
    | Promise<ReturnType<typeof import('@aws-sdk/credential-provider-node').defaultProvider>>
    | undefined;
  const chain = () => {
    chainP ??= import('@aws-sdk/credential-provider-node').then((m) => {
      const requestHandler = opts.requestHandler?.(stsUrl);
      return m.defaultProvider(
        requestHandler === undefined ? {} : { clientConfig: { requestHandler } },
      );
    });
    return chainP;
  };
  const own =
    opts.own ??
    (async (): Promise<Credentials> => {
      const c = await (await chain())();
      return {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        ...(c.sessionToken === undefined ? {} : { sessionToken: c.sessionToken }),
        ...(c.expiration === undefined ? {} : { expiration: c.expiration }),
      };
    });
  let sts: Promise<StsHandle> | undefined;
  const stsClient = () => {
    sts ??= import('@aws-sdk/client-sts').then((m) => {
      const requestHandler = opts.requestHandler?.(stsUrl);
      return {
        client: new m.STSClient({
          region: opts.region,
          credentials: own,
          ...(opts.stsEndpoint === undefined ? {} : { endpoint: opts.stsEndpoint }),
          ...(requestHandler === undefined ? {} : { requestHandler }),
        }),
        AssumeRoleCommand: m.AssumeRoleCommand,
      };
    });
    return sts;
  };
  const sessions = new Map<string, Session>();

  const assumeRole = async (roleArn: string, sessionName: string): Promise<Credentials> => {
    const { client, AssumeRoleCommand } = await stsClient();
    const out = await client.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: sessionName,
        DurationSeconds: opts.durationSeconds ?? 3600,
      }),
    );
    const c = out.Credentials;
    if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined)
      throw new Error(`AssumeRole ${roleArn} returned no credentials`);
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken === undefined ? {} : { sessionToken: c.SessionToken }),
      ...(c.Expiration === undefined ? {} : { expiration: c.Expiration }),
    };
  };

  /** Asks STS for a new session; concurrent callers share it until it settles. */
  const start = (
    id: string,
    roleArn: string,
    sessionName: string,
    last: Credentials | null,
  ): Promise<Credentials> => {
    const state: Session['state'] = { refreshAt: null, last };
    const creds = assumeRole(roleArn, sessionName).then(
      (c) => {
        state.last = c;
        state.refreshAt =
          c.expiration === undefined
            ? Number.POSITIVE_INFINITY
            : c.expiration.getTime() - REFRESH_MS;
        return c;
      },
      (e: unknown) => {
        const t = now();
        const stillValid = last?.expiration !== undefined && last.expiration.getTime() > t;
        opts.log?.error('AssumeRole failed', {
          roleArn,
          sessionName,
          error: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
          ...(stillValid ? { servingPreviousUntil: last?.expiration?.toISOString() } : {}),
        });
        if (stillValid && last !== null) {
          state.refreshAt = Math.min(t + failureMs, last.expiration?.getTime() ?? t);
          return last;
        }
        state.refreshAt = t + failureMs;
        throw assumeRoleError(roleArn, sessionName, e);
      },
    );
    // Callers handle the rejection; this only keeps a remembered failure from counting as unhandled.
    creds.catch(() => {});
    if (!sessions.has(id) && sessions.size >= MAX_SESSIONS) {
      const oldest = sessions.keys().next().value;
      if (oldest !== undefined) sessions.delete(oldest);
    }
    sessions.set(id, { creds, state });
    return creds;
  };

  return {
    own,
    assumed(roleArn, sessionName) {
      const id = `${roleArn}\u0000${sessionName}`;
      const s = sessions.get(id);
      if (s !== undefined && (s.state.refreshAt === null || s.state.refreshAt > now()))
        return s.creds;
      return start(id, roleArn, sessionName, s?.state.last ?? null);
    },
  };
}
