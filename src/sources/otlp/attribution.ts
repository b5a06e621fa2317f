/**
 * Who and for what, from three places in order: the record's (or data point's, or span's) attributes → the
 * resource attributes → the HTTP request headers. The first non-empty value wins and the winner is named, so a
 * report can say "team from OTEL_RESOURCE_ATTRIBUTES" or "user from the x-user-email header".
 *
 * Headers: the AWS "Guidance for Claude Code with Amazon Bedrock" sends identity as headers through
 * `otelHeadersHelper` (x-user-email, x-user-id, x-user-name, x-department, x-team-id, x-cost-center,
 * x-organization, x-location, x-role, x-manager, x-project, x-persona, x-tag-*); they are read as the attributes
 * its collector would have upserted (user.email, team.id, cost_center, tag.*, …). Any other `x-user-<name>`
 * header is read as `user.<name>`.
 */
import type { KeyValue } from './shape.ts';
import { Attrs, define } from './values.ts';

export type IdentityOrigin = 'record' | 'resource' | 'header';

/** A value and where it was found. */
export interface SourcedValue {
  readonly value: string;
  readonly from: IdentityOrigin;
}

/** Identity attributes; each null when no place carried it. */
export interface TelemetryIdentity {
  /** `user.id`: Claude Code's anonymous install id on records; an IdP subject when a header or gateway sets it. */
  readonly userId: SourcedValue | null;
  readonly userEmail: SourcedValue | null;
  readonly userName: SourcedValue | null;
  /** `user.account_uuid` (Claude account sessions only). */
  readonly accountUuid: SourcedValue | null;
  /** `user.account_id` (`user_01…`, Claude account sessions only). */
  readonly accountId: SourcedValue | null;
  /** `organization.id` (Claude account sessions only). */
  readonly organizationId: SourcedValue | null;
  /** `enduser.id`: the docs' suggestion for Bedrock sessions, via OTEL_RESOURCE_ATTRIBUTES. */
  readonly enduserId: SourcedValue | null;
  /** `user.groups` (Claude apps gateway), joined with ','. */
  readonly userGroups: SourcedValue | null;
  /** `identity.source` (e.g. `gateway-oidc`). */
  readonly identitySource: SourcedValue | null;
}

export const TELEMETRY_IDENTITY_KEYS: Readonly<Record<keyof TelemetryIdentity, string>> = {
  userId: 'user.id',
  userEmail: 'user.email',
  userName: 'user.name',
  accountUuid: 'user.account_uuid',
  accountId: 'user.account_id',
  organizationId: 'organization.id',
  enduserId: 'enduser.id',
  userGroups: 'user.groups',
  identitySource: 'identity.source',
};

/** Attribution keys recognised wherever they appear (record, resource or header). */
export const TELEMETRY_DIMENSION_KEYS: readonly string[] = [
  'team',
  'team.id',
  'team.name',
  'department',
  'cost_center',
  'organization',
  'project',
  'application',
  'feature',
  'environment',
  'deployment.environment',
  'deployment.environment.name',
  'location',
  'role',
  'manager',
  'persona',
  'enduser.directory_id',
];

/**
 * `cloud.account.id` (OpenTelemetry semantic conventions; the AWS resource detectors set it): the AWS account the
 * calls ran in. Only a 12-digit account id is read.
 */
export const CLOUD_ACCOUNT_KEY = 'cloud.account.id';
const AWS_ACCOUNT_ID = /^\d{12}$/;

/** Resource keys that describe the process, host or SDK, not who or what the work is for. */
const INFRASTRUCTURE_PREFIXES = [
  'service.',
  'telemetry.',
  'process.',
  'host.',
  'os.',
  'wsl.',
  'container.',
  'k8s.',
  'cloud.',
  'aws.',
  'faas.',
  'device.',
  'browser.',
  'webengine.',
  'otel.',
];

const HEADER_KEYS: Readonly<Record<string, string>> = {
  'x-user-email': 'user.email',
  'x-user-id': 'user.id',
  'x-user-name': 'user.name',
  'x-department': 'department',
  'x-team-id': 'team.id',
  'x-cost-center': 'cost_center',
  'x-organization': 'organization',
  'x-location': 'location',
  'x-role': 'role',
  'x-manager': 'manager',
  'x-project': 'project',
  'x-persona': 'persona',
};

/** Values that stand for "not set" in deployed configurations (see `Attribution.resolve`). */
const PLACEHOLDERS = new Set(['default', 'unknown@example.com']);

/** Request headers as a web `Headers`, or a record as Node or Hono give them (any case; arrays joined). */
export type HeaderInput =
  | { forEach(callback: (value: string, key: string) => void): void }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** The attributes that identity headers stand for: `{ 'user.email': 'alice@…', 'team.id': 'blue', … }`. */
export function headerAttributes(headers: HeaderInput | undefined): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  if (headers === undefined) return out;
  const add = (name: string, raw: string | readonly string[] | undefined): void => {
    if (raw === undefined) return;
    const value = (typeof raw === 'string' ? raw : raw.join(',')).trim();
    const key = attributeOfHeader(name.toLowerCase());
    if (key !== null && value !== '') out.set(key, value);
  };
  if (isRecordOfHeaders(headers)) {
    for (const [name, value] of Object.entries(headers)) add(name, value);
  } else {
    headers.forEach((value, name) => {
      add(name, value);
    });
  }
  return out;
}

function isRecordOfHeaders(
  h: HeaderInput,
): h is Readonly<Record<string, string | readonly string[] | undefined>> {
  const proto: unknown = Object.getPrototypeOf(h);
  return proto === Object.prototype || proto === null;
}

/** Never read as identity even when the name matches (`x-user-token`, `x-tag-api-key`, …). */
const SECRET_HEADER = /auth|token|secret|passw|cookie|key|signature|credential/;

function attributeOfHeader(name: string): string | null {
  if (SECRET_HEADER.test(name)) return null;
  const known = HEADER_KEYS[name];
  if (known !== undefined) return known;
  if (name.startsWith('x-tag-') && name.length > 6)
    return `tag.${name.slice(6).replaceAll('-', '_')}`;
  if (name.startsWith('x-user-') && name.length > 7)
    return `user.${name.slice(7).replaceAll('-', '_')}`;
  return null;
}

function isDimensionKey(key: string): boolean {
  return TELEMETRY_DIMENSION_KEYS.includes(key) || key.startsWith('tag.');
}

function isIdentityKey(key: string): boolean {
  return key.startsWith('user.') || key.startsWith('enduser.id') || key === 'organization.id';
}

/** Custom resource keys (what OTEL_RESOURCE_ATTRIBUTES adds): not infrastructure, not identity. */
function isCustomResourceKey(key: string): boolean {
  return (
    !INFRASTRUCTURE_PREFIXES.some((p) => key.startsWith(p)) &&
    !isIdentityKey(key) &&
    key !== 'identity.source' &&
    key !== 'session.id'
  );
}

/**
 * The three places of one request's resource, ready to resolve per record. `record` keys that are not
 * dimensions by name are only read when the resource also has them (custom keys are copied onto records).
 */
export class Attribution {
  private readonly resource: Attrs;
  private readonly customKeys: readonly string[];

  constructor(
    resourceAttributes: readonly KeyValue[],
    private readonly headers: ReadonlyMap<string, string>,
  ) {
    this.resource = new Attrs(resourceAttributes);
    const keys = new Set<string>();
    for (const key of this.resource.keys()) if (isCustomResourceKey(key)) keys.add(key);
    for (const key of headers.keys()) if (!isIdentityKey(key)) keys.add(key);
    this.customKeys = [...keys];
  }

  get resourceAttrs(): Attrs {
    return this.resource;
  }

  /**
   * The first non-empty of record → resource → header for one attribute key. A placeholder (`default`, as the
   * AWS guidance packages OTEL_RESOURCE_ATTRIBUTES before its collector overwrites them from headers, or its
   * `unknown@example.com`) yields to a real value further down the chain, and wins only when nothing else is there.
   */
  resolve(record: Attrs, key: string): SourcedValue | null {
    const candidates: [string | null, IdentityOrigin][] = [
      [record.str(key), 'record'],
      [this.resource.str(key), 'resource'],
      [this.headers.get(key) ?? null, 'header'],
    ];
    let placeholder: SourcedValue | null = null;
    for (const [value, from] of candidates) {
      if (value === null) continue;
      if (!PLACEHOLDERS.has(value.toLowerCase())) return { value, from };
      placeholder ??= { value, from };
    }
    return placeholder;
  }

  /**
   * The AWS account of the record's calls: `cloud.account.id` of the record, else of the resource (never a header).
   * A value that is not a 12-digit account id is ignored (on the record, with an issue); null when none is.
   */
  awsAccount(record: Attrs): string | null {
    const own = record.str(CLOUD_ACCOUNT_KEY)?.trim() ?? null;
    if (own !== null && AWS_ACCOUNT_ID.test(own)) return own;
    if (own !== null)
      record.issues.push(
        `${CLOUD_ACCOUNT_KEY}: expected a 12-digit AWS account id, got ${JSON.stringify(own)}`,
      );
    const res = this.resource.str(CLOUD_ACCOUNT_KEY)?.trim() ?? null;
    return res !== null && AWS_ACCOUNT_ID.test(res) ? res : null;
  }

  identity(record: Attrs): TelemetryIdentity {
    const out: Partial<Record<keyof TelemetryIdentity, SourcedValue | null>> = {};
    for (const [field, key] of Object.entries(TELEMETRY_IDENTITY_KEYS) as [
      keyof TelemetryIdentity,
      string,
    ][]) {
      out[field] = this.resolve(record, key);
    }
    return out as TelemetryIdentity;
  }

  /** Every attribution key found in any of the three places, resolved; keys sorted. */
  dimensions(record: Attrs): Readonly<Record<string, SourcedValue>> {
    const keys = new Set(this.customKeys);
    for (const key of record.keys()) if (isDimensionKey(key)) keys.add(key);
    const out: Record<string, SourcedValue> = {};
    for (const key of [...keys].sort()) {
      const v = this.resolve(record, key);
      if (v !== null) define(out, key, v);
    }
    return out;
  }
}
