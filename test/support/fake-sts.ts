/**
 * A local fake of AWS STS for AssumeRole, speaking the Query API wire format the AWS SDK v3 `STSClient` uses: a
 * form-encoded `POST /` (`Action=AssumeRole&Version=2011-06-15&RoleArn=…&RoleSessionName=…&DurationSeconds=…`),
 * answered with an `AssumeRoleResponse` XML document (`AssumeRoleResult` → `Credentials`, `AssumedRoleUser`,
 * `PackedPolicySize`; `ResponseMetadata` → `RequestId`) or an `ErrorResponse` (`Error` → `Type`, `Code`, `Message`;
 * `RequestId`). Requests are validated as STS does (SigV4 for service `sts`, the parameter constraints), every call is
 * recorded with who signed it, and a rule can refuse calls (`AccessDenied`…) or shorten the credentials' lifetime.
 * Its validation against the SDK is `fake-sts.test.ts`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

export interface StsKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Temporary credentials as issued (what a client signs its next calls with). */
export interface IssuedCredentials extends StsKey {
  readonly sessionToken: string;
  readonly expiration: Date;
  readonly roleArn: string;
  readonly roleSessionName: string;
}

/** One request as received and answered. */
export interface StsCall {
  readonly requestId: string;
  /** The `Action` parameter (null when absent). */
  readonly action: string | null;
  readonly roleArn: string | null;
  readonly roleSessionName: string | null;
  readonly durationSeconds: number | null;
  /** The access key named in the SigV4 `Authorization` header: who called. Null without SigV4. */
  readonly accessKeyId: string | null;
  /** The caller's `x-amz-security-token` (a caller signing with temporary credentials sends one). */
  readonly securityToken: string | null;
  status: number;
  /** The error code answered (`AccessDenied`, `ValidationError`…), null on success. */
  error: string | null;
  issued: IssuedCredentials | null;
}

export type StsBehaviour =
  /** An `ErrorResponse`; the status defaults to the code's usual one (403 for AccessDenied, 400 otherwise). */
  | {
      readonly kind: 'error';
      readonly code: string;
      readonly status?: number;
      readonly message?: string;
    }
  /** Issue credentials that expire `expiresInSeconds` from now instead of after `DurationSeconds`. */
  | { readonly kind: 'respond'; readonly expiresInSeconds: number };

/** Decides how to answer a valid, authenticated AssumeRole; undefined = issue credentials normally. */
export type StsRule = (call: StsCall) => StsBehaviour | undefined;

export interface FakeStsOptions {
  /** When given, SigV4 signatures are verified with these keys (service `sts`); others get `InvalidClientTokenId`. */
  readonly credentials?: readonly StsKey[];
  /** The signing region callers must use (default `us-east-1`). */
  readonly region?: string;
  /** Called with every credential set issued, e.g. to let a fake Bedrock accept them. */
  readonly onIssue?: (issued: IssuedCredentials) => void;
  /** Epoch ms; issue times and expirations. Default `Date.now`. */
  readonly clock?: () => number;
}

export interface FakeSts {
  readonly url: string;
  readonly port: number;
  readonly calls: StsCall[];
  /** Installs a rule consulted for every valid AssumeRole (replacing the previous one); null restores normal answers. */
  behave(rule: StsRule | null): void;
  close(): Promise<void>;
}

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const STATUS: Readonly<Record<string, number>> = {
  AccessDenied: 403,
  RegionDisabledException: 403,
  InvalidClientTokenId: 403,
  SignatureDoesNotMatch: 403,
  MissingAuthenticationToken: 403,
  IncompleteSignature: 400,
  ExpiredTokenException: 400,
  MalformedPolicyDocument: 400,
  PackedPolicyTooLarge: 400,
  ValidationError: 400,
  InvalidAction: 400,
  Throttling: 400,
  InternalFailure: 500,
  ServiceUnavailable: 503,
};
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const AUTH_RE =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

class Refusal extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = STATUS[code] ?? 400,
  ) {
    super(message);
  }
}

function xml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** STS writes instants to the second: `2026-11-23T13:34:41Z`. */
function stsTime(t: number): string {
  return new Date(Math.floor(t / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function amzDate(s: string): Date {
  return new Date(
    `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`,
  );
}

function alnum(n: number): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return [...randomBytes(n)].map((b) => chars[b % chars.length]).join('');
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Verifies SigV4 by recomputing it with @smithy/signature-v4 (the AWS SDK's own signer). */
async function verify(
  req: IncomingMessage,
  raw: Buffer,
  region: string,
  keys: readonly StsKey[],
): Promise<void> {
  const m = AUTH_RE.exec(req.headers.authorization ?? '');
  if (m === null) {
    if (req.headers.authorization === undefined)
      throw new Refusal('MissingAuthenticationToken', 'Request is missing Authentication Token');
    throw new Refusal('IncompleteSignature', 'Authorization header is malformed.');
  }
  const [, accessKeyId, , scopeRegion, service, signedList, signature] = m as unknown as string[];
  const key = keys.find((k) => k.accessKeyId === accessKeyId);
  if (key === undefined)
    throw new Refusal(
      'InvalidClientTokenId',
      'The security token included in the request is invalid.',
    );
  if (scopeRegion !== region || service !== 'sts')
    throw new Refusal(
      'SignatureDoesNotMatch',
      `Credential should be scoped to a valid region and to sts, not ${scopeRegion}/${service}.`,
    );
  const signed = (signedList ?? '').split(';');
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const v = req.headers[name];
    if (v !== undefined) headers[name] = Array.isArray(v) ? v.join(',') : v;
  }
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const signer = new SignatureV4({
    credentials: key,
    region,
    service: 'sts',
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
  });
  const expected = await signer.sign(
    {
      method: req.method ?? 'POST',
      protocol: 'http:',
      hostname: headers.host ?? '',
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? {} : Object.fromEntries(new URLSearchParams(url.slice(q + 1))),
      headers,
      body: raw,
    },
    {
      signingDate: amzDate(req.headers['x-amz-date']?.toString() ?? ''),
      signableHeaders: new Set(signed),
    },
  );
  if (!String(expected.headers.authorization ?? '').endsWith(`Signature=${signature}`))
    throw new Refusal(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided.',
    );
}

/** AssumeRole's parameter constraints, with STS's wording. */
function validate(call: StsCall): void {
  const problems: string[] = [];
  if (call.roleArn === null)
    problems.push("Value null at 'roleArn' failed to satisfy constraint: Member must not be null");
  if (call.roleSessionName === null)
    problems.push(
      "Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null",
    );
  else if (!SESSION_NAME.test(call.roleSessionName))
    problems.push(
      `Value '${call.roleSessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64`,
    );
  const d = call.durationSeconds;
  if (d !== null && !(Number.isInteger(d) && d >= 900 && d <= 43_200))
    problems.push(
      `Value '${d}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`,
    );
  if (problems.length > 0)
    throw new Refusal(
      'ValidationError',
      `${problems.length} validation error${problems.length > 1 ? 's' : ''} detected: ${problems.join('; ')}`,
    );
  if (!ROLE_ARN.test(call.roleArn ?? ''))
    throw new Refusal('ValidationError', `${call.roleArn} is invalid`);
}

function send(res: ServerResponse, call: StsCall, status: number, body: string): void {
  call.status = status;
  res.writeHead(status, {
    'content-type': 'text/xml',
    'content-length': String(Buffer.byteLength(body)),
    'x-amzn-requestid': call.requestId,
  });
  res.end(body);
}

function sendError(res: ServerResponse, call: StsCall, e: Refusal): void {
  call.error = e.code;
  send(
    res,
    call,
    e.status,
    `<ErrorResponse xmlns="${NS}">\n  <Error>\n    <Type>${e.status >= 500 ? 'Receiver' : 'Sender'}</Type>\n` +
      `    <Code>${xml(e.code)}</Code>\n    <Message>${xml(e.message)}</Message>\n  </Error>\n` +
      `  <RequestId>${call.requestId}</RequestId>\n</ErrorResponse>\n`,
  );
}

function assumeRoleXml(call: StsCall, c: IssuedCredentials): string {
  const [, account, roleName] = ROLE_ARN.exec(c.roleArn) as unknown as string[];
  const roleId = `AROA${alnum(17)}`;
  return (
    `<AssumeRoleResponse xmlns="${NS}">\n  <AssumeRoleResult>\n    <AssumedRoleUser>\n` +
    `      <Arn>arn:aws:sts::${account}:assumed-role/${xml(roleName ?? '')}/${xml(c.roleSessionName)}</Arn>\n` +
    `      <AssumedRoleId>${roleId}:${xml(c.roleSessionName)}</AssumedRoleId>\n    </AssumedRoleUser>\n` +
    `    <Credentials>\n      <AccessKeyId>${c.accessKeyId}</AccessKeyId>\n` +
    `      <SecretAccessKey>${xml(c.secretAccessKey)}</SecretAccessKey>\n` +
    `      <SessionToken>${xml(c.sessionToken)}</SessionToken>\n` +
    `      <Expiration>${stsTime(c.expiration.getTime())}</Expiration>\n    </Credentials>\n` +
    `    <PackedPolicySize>0</PackedPolicySize>\n  </AssumeRoleResult>\n` +
    `  <ResponseMetadata>\n    <RequestId>${call.requestId}</RequestId>\n  </ResponseMetadata>\n` +
    `</AssumeRoleResponse>\n`
  );
}

export async function startFakeSts(options: FakeStsOptions = {}): Promise<FakeSts> {
  const region = options.region ?? 'us-east-1';
  const clock = options.clock ?? Date.now;
  const calls: StsCall[] = [];
  let rule: StsRule | null = null;
  let issuedCount = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const form = new URLSearchParams(req.method === 'POST' ? raw.toString('utf8') : '');
    const q = (req.url ?? '/').indexOf('?');
    if (q >= 0)
      for (const [k, v] of new URLSearchParams((req.url ?? '').slice(q + 1))) form.append(k, v);
    const duration = form.get('DurationSeconds');
    const auth = AUTH_RE.exec(req.headers.authorization ?? '');
    const token = req.headers['x-amz-security-token'];
    const call: StsCall = {
      requestId: randomUUID(),
      action: form.get('Action'),
      roleArn: form.get('RoleArn'),
      roleSessionName: form.get('RoleSessionName'),
      durationSeconds: duration === null ? null : Number(duration),
      accessKeyId: auth?.[1] ?? null,
      securityToken: typeof token === 'string' ? token : null,
      status: 0,
      error: null,
      issued: null,
    };
    calls.push(call);
    try {
      if (options.credentials !== undefined) await verify(req, raw, region, options.credentials);
      else if (auth === null)
        throw new Refusal('MissingAuthenticationToken', 'Request is missing Authentication Token');
      if (call.action !== 'AssumeRole' || form.get('Version') !== '2011-06-15')
        throw new Refusal(
          'InvalidAction',
          `Could not find operation ${call.action ?? '(none)'} for version ${form.get('Version') ?? '(none)'}`,
        );
      validate(call);
      const behaviour = rule?.(call);
      if (behaviour?.kind === 'error')
        throw new Refusal(
          behaviour.code,
          behaviour.message ??
            `User: arn:aws:iam::123456789012:user/${call.accessKeyId ?? 'anonymous'} is not authorized to perform: sts:AssumeRole on resource: ${call.roleArn}`,
          behaviour.status,
        );
      const lifetime =
        behaviour?.kind === 'respond' ? behaviour.expiresInSeconds : (call.durationSeconds ?? 3600);
      issuedCount++;
      const issued: IssuedCredentials = {
        accessKeyId: `ASIAFAKESTS${String(issuedCount).padStart(9, '0')}`,
        secretAccessKey: randomBytes(30).toString('base64'),
        sessionToken: `FwoGZXIvYXdzE${randomBytes(48).toString('base64')}`,
        expiration: new Date(Math.floor((clock() + lifetime * 1000) / 1000) * 1000),
        roleArn: call.roleArn ?? '',
        roleSessionName: call.roleSessionName ?? '',
      };
      call.issued = issued;
      options.onIssue?.(issued);
      send(res, call, 200, assumeRoleXml(call, issued));
    } catch (e: unknown) {
      sendError(
        res,
        call,
        e instanceof Refusal ? e : new Refusal('InternalFailure', String(e), 500),
      );
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    calls,
    behave(next) {
      rule = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
