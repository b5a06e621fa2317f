/**
 * Bedrock request metadata the gateway injects (bedrock.md §4.1): Converse/ConverseStream take it as the body field
 * `requestMetadata`, InvokeModel/InvokeModelWithResponseStream as the signed header `X-Amzn-Bedrock-Request-Metadata`
 * (a JSON object). Limits: ≤ 16 entries, key 1–256 and value 0–256 characters of `[a-zA-Z0-9\s:_@$#=/+,-.]`.
 * The virtual key's attribution wins over what the caller sent for the same dimension (a caller cannot charge another
 * team); the caller's other keys are kept while there is room. Characters Bedrock would refuse are replaced with `_`
 * rather than failing the call.
 */
import type { VirtualKey } from './keys.ts';

export const METADATA_HEADER = 'x-amzn-bedrock-request-metadata';
const MAX_ENTRIES = 16;
const MAX_LEN = 256;
/**
 * Bedrock's pattern written with ASCII whitespace: JavaScript's `\s` also takes Unicode spaces (U+00A0, U+2028…),
 * which Bedrock refuses and which cannot travel in the InvokeModel header.
 */
const BAD_CHARS = /[^a-zA-Z0-9 \t\n\r\f\v:_@$#=/+,.-]/g;

const clean = (s: string): string => s.replace(BAD_CHARS, '_').slice(0, MAX_LEN);

/** Adds one entry unless it is empty, already set (unless `force`), or past the limit of entries. */
function put(out: Record<string, string>, k: string, v: string, force: boolean): void {
  const ck = clean(k);
  const has = Object.hasOwn(out, ck); // not `in`: a caller's `constructor` or `toString` is an entry like any other
  if (ck === '' || (!force && has)) return;
  if (!has && Object.keys(out).length >= MAX_ENTRIES) return;
  out[ck] = clean(v);
}

/** The key's own entries, made once per key (a rotated or changed key is a new object). */
const fromKeys = new WeakMap<VirtualKey, Readonly<Record<string, string>>>();
function keyMetadata(key: VirtualKey): Readonly<Record<string, string>> {
  let out = fromKeys.get(key);
  if (out === undefined) {
    const m: Record<string, string> = {};
    if (key.team !== null) put(m, 'team', key.team, true);
    if (key.user !== null) put(m, 'user', key.user, true);
    if (key.feature !== null) put(m, 'feature', key.feature, true);
    if (key.project !== null) put(m, 'project', key.project, true);
    if (key.environment !== null) put(m, 'environment', key.environment, true);
    put(m, 'gateway_key', key.id, true);
    out = Object.freeze(m);
    fromKeys.set(key, out);
  }
  return out;
}

/**
 * The metadata to send: the key's dimensions and id first, then the Claude Code session (from its
 * `x-claude-code-session-id` header) unless the caller set one, then the caller's own entries, at most 16 in all.
 * A call that adds nothing to its key's entries gets the key's (frozen) object itself.
 */
export function buildMetadata(
  key: VirtualKey,
  caller: Readonly<Record<string, unknown>> | null,
  session: string | null,
): Readonly<Record<string, string>> {
  const base = keyMetadata(key);
  const withSession =
    session !== null && session !== '' && !(caller !== null && 'session' in caller);
  let callerEntries = false;
  if (caller !== null)
    for (const k in caller)
      if (typeof caller[k] === 'string') {
        callerEntries = true;
        break;
      }
  if (!withSession && !callerEntries) return base;
  const out: Record<string, string> = { ...base };
  if (withSession) put(out, 'session', session, false);
  if (caller !== null)
    for (const [k, v] of Object.entries(caller)) if (typeof v === 'string') put(out, k, v, false);
  return out;
}

/** The caller's `X-Amzn-Bedrock-Request-Metadata` header as an object, or null when absent or not a JSON object. */
export function parseMetadataHeader(value: string | undefined): Record<string, unknown> | null {
  if (value === undefined || value === '') return null;
  try {
    const v: unknown = JSON.parse(value);
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/**
 * A Converse body (`body`, parsed as `parsed`) with `requestMetadata` set. When the caller sent none, the field is
 * written in after the opening brace and the caller's bytes follow as they came (no re-serialising of the whole
 * body: ~4 µs of a ~2 KB call); when it sent one, the body is serialised again with it replaced.
 */
export function withRequestMetadata(
  body: Buffer,
  parsed: Record<string, unknown>,
  metadata: Readonly<Record<string, string>>,
): Buffer {
  if (Object.hasOwn(parsed, 'requestMetadata')) {
    parsed.requestMetadata = metadata;
    return Buffer.from(JSON.stringify(parsed));
  }
  // The body parsed as an object: its first non-whitespace byte is the opening brace.
  const brace = body.indexOf(0x7b);
  let empty = true;
  for (const _ in parsed) {
    empty = false;
    break;
  }
  return Buffer.concat([
    Buffer.from(`{"requestMetadata":${JSON.stringify(metadata)}${empty ? '' : ','}`),
    body.subarray(brace + 1),
  ]);
}
