/**
 * Token usage from Bedrock runtime responses: Converse JSON, InvokeModel bodies and headers, and the pieces the event
 * stream reader finds (../shared/formats/bedrock.md §1.5-1.6). Every count is Bedrock's own; nothing is estimated.
 * `input` is uncached input only, as in invocation logs and `Tokens` (src/core/usage-record.ts).
 */

import { servedTier, type Tier } from '../core/index.ts';

/** Usage of one call as the gateway records it. Field names follow `Tokens` in src/core/usage-record.ts. */
export interface GatewayUsage {
  /** Uncached input tokens. */
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  /** 5-minute cache writes, or every cache write when their TTL split is unknown (`cacheTtlKnown: false`). */
  readonly cacheWrite5m: number;
  readonly cacheWrite1h: number;
  /** False when cache writes were reported only as a total, without their 5m/1h split. */
  readonly cacheTtlKnown: boolean;
  /** Bedrock's invocation latency (Converse `metrics.latencyMs`, `x-amzn-bedrock-invocation-latency`…). */
  readonly latencyMs: number | null;
  /** Time to first byte, reported only in `amazon-bedrock-invocationMetrics` of streamed invocations. */
  readonly firstByteMs: number | null;
  /** The tier Bedrock says served the call (a Converse answer's `serviceTier`), when it says. */
  readonly tier?: Tier;
}

export const SERVICE_TIER_HEADER = 'x-amzn-bedrock-service-tier';

/** Response headers: a fetch `Headers`, or node's lower-cased header object. */
export type HeaderSource =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | number | undefined>>;

export const INPUT_TOKENS_HEADER = 'x-amzn-bedrock-input-token-count';
export const OUTPUT_TOKENS_HEADER = 'x-amzn-bedrock-output-token-count';
export const CACHE_READ_TOKENS_HEADER = 'x-amzn-bedrock-cache-read-input-token-count';
export const CACHE_WRITE_TOKENS_HEADER = 'x-amzn-bedrock-cache-write-input-token-count';
export const INVOCATION_LATENCY_HEADER = 'x-amzn-bedrock-invocation-latency';

type Json = Record<string, unknown>;

/** A count as Bedrock writes it: a non-negative integer (exact in a double). Anything else is "not reported". */
export function count(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function obj(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : null;
}

/**
 * Splits a cache-write total by TTL. With a known 1h part the rest is 5m (bedrock.md §5.5); without one the whole
 * total is put in 5m and the split is unknown — unless there was nothing to split.
 */
export function splitCacheWrite(
  total: number,
  oneHour: number | null,
): Pick<GatewayUsage, 'cacheWrite5m' | 'cacheWrite1h' | 'cacheTtlKnown'> {
  if (oneHour === null) return { cacheWrite5m: total, cacheWrite1h: 0, cacheTtlKnown: total === 0 };
  const h1 = Math.min(oneHour, total);
  return { cacheWrite5m: total - h1, cacheWrite1h: h1, cacheTtlKnown: true };
}

/** Converse `cacheDetails: [{ttl: '5m'|'1h', inputTokens}]` → the 1h part, or null when absent. */
function converseOneHour(details: unknown): number | null {
  if (!Array.isArray(details)) return null;
  let h1 = 0;
  for (const d of details) {
    const detail = obj(d);
    if (detail !== null && detail.ttl === '1h') h1 += count(detail.inputTokens) ?? 0;
  }
  return h1;
}

/** Anthropic `usage.cache_creation: {ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}` → the 1h part, or null. */
export function anthropicOneHour(usage: Json): number | null {
  const creation = obj(usage.cache_creation);
  if (creation === null) return null;
  return count(creation.ephemeral_1h_input_tokens) ?? 0;
}

/**
 * Converse-shaped usage (`TokenUsage`, camelCase; also Nova's native body, whose cache fields end in `Count`) with
 * an optional `metrics.latencyMs`. Null without input and output counts.
 */
export function usageFromTokenUsage(
  usageValue: unknown,
  metricsValue: unknown,
): GatewayUsage | null {
  const usage = obj(usageValue);
  if (usage === null) return null;
  const input = count(usage.inputTokens);
  const output = count(usage.outputTokens);
  if (input === null || output === null) return null;
  const cacheRead = count(usage.cacheReadInputTokens) ?? count(usage.cacheReadInputTokenCount) ?? 0;
  const cacheWrite =
    count(usage.cacheWriteInputTokens) ?? count(usage.cacheWriteInputTokenCount) ?? 0;
  return {
    input,
    output,
    cacheRead,
    ...splitCacheWrite(cacheWrite, converseOneHour(usage.cacheDetails)),
    latencyMs: count(obj(metricsValue)?.latencyMs),
    firstByteMs: null,
  };
}

/** Anthropic Messages `usage` (snake_case). Null without input and output counts. */
export function usageFromAnthropic(usage: Json, latencyMs: number | null): GatewayUsage | null {
  const input = count(usage.input_tokens);
  const output = count(usage.output_tokens);
  if (input === null || output === null) return null;
  return {
    input,
    output,
    cacheRead: count(usage.cache_read_input_tokens) ?? 0,
    ...splitCacheWrite(count(usage.cache_creation_input_tokens) ?? 0, anthropicOneHour(usage)),
    latencyMs,
    firstByteMs: null,
  };
}

function parseJson(body: Uint8Array | string): unknown {
  try {
    const text =
      typeof body === 'string'
        ? body
        : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    return JSON.parse(text);
  } catch {
    return undefined; // not JSON: no usage in it
  }
}

/** A parsed Converse response (or ConverseStream `metadata` event): `usage` and `metrics`. */
export function usageFromConverse(parsed: unknown): GatewayUsage | null {
  const response = obj(parsed);
  if (response === null) return null;
  const usage = usageFromTokenUsage(response.usage, response.metrics);
  const tier = response.serviceTier === undefined ? null : servedTier(response.serviceTier);
  return usage === null || tier === null ? usage : { ...usage, tier };
}

/** A Converse response body as received. Null when it is not JSON or has no usage. */
export function usageFromConverseJson(body: Uint8Array | string): GatewayUsage | null {
  return usageFromConverse(parseJson(body));
}

function plain(input: number, output: number): GatewayUsage {
  return {
    input,
    output,
    cacheRead: 0,
    cacheWrite5m: 0,
    cacheWrite1h: 0,
    cacheTtlKnown: true,
    latencyMs: null,
    firstByteMs: null,
  };
}

/** Titan text: `inputTextTokenCount` + `results[].tokenCount`; Titan embeddings: `inputTextTokenCount` only. */
function usageFromTitan(body: Json): GatewayUsage | null {
  const input = count(body.inputTextTokenCount);
  if (input === null) return null;
  let output = 0;
  const results = body.results;
  if (Array.isArray(results)) for (const r of results) output += count(obj(r)?.tokenCount) ?? 0;
  return plain(input, output);
}

/**
 * A parsed InvokeModel body in one of the native shapes that carry usage: Anthropic Messages (`usage.input_tokens`),
 * Nova (`usage.inputTokens`, bedrock.md §1.6), Titan text/embeddings, Meta Llama (`prompt_token_count`,
 * `generation_token_count`, per the Bedrock model-parameters page). Other providers report usage only in headers.
 */
export function usageFromInvokeBody(parsed: unknown): GatewayUsage | null {
  const body = obj(parsed);
  if (body === null) return null;
  const usage = obj(body.usage);
  if (usage !== null) {
    if ('input_tokens' in usage) return usageFromAnthropic(usage, null);
    if ('inputTokens' in usage) return usageFromTokenUsage(usage, null);
  }
  if ('inputTextTokenCount' in body) return usageFromTitan(body);
  const prompt = count(body.prompt_token_count);
  const generation = count(body.generation_token_count);
  if (prompt !== null && generation !== null) return plain(prompt, generation);
  return null;
}

function headerValue(headers: HeaderSource, name: string): string | null {
  if (typeof headers.get === 'function')
    return (headers as { get(n: string): string | null }).get(name);
  const value = (headers as Readonly<Record<string, unknown>>)[name];
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return null;
}

/** A header holding a count: digits only (no sign, no exponent), else null. */
function headerCount(headers: HeaderSource, name: string): number | null {
  const value = headerValue(headers, name);
  if (value === null) return null;
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > 15) return null;
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed.charCodeAt(i);
    if (c < 48 || c > 57) return null;
  }
  return Number(trimmed);
}

/**
 * InvokeModel usage: the `x-amzn-bedrock-*-token-count` headers win where present (they are Bedrock's billing
 * counts and exist for every provider); the body is parsed only for what they lack — a missing count, or the 5m/1h
 * split of cache writes (Anthropic `usage.cache_creation`, Converse-style `cacheDetails`).
 */
export function usageFromInvoke(
  body: Uint8Array | string | null,
  headers: HeaderSource,
): GatewayUsage | null {
  const input = headerCount(headers, INPUT_TOKENS_HEADER);
  const output = headerCount(headers, OUTPUT_TOKENS_HEADER);
  const latencyMs = headerCount(headers, INVOCATION_LATENCY_HEADER);
  const read = headerCount(headers, CACHE_READ_TOKENS_HEADER);
  const write = headerCount(headers, CACHE_WRITE_TOKENS_HEADER);
  const needBody =
    input === null || output === null || read === null || write === null || write > 0;
  const fromBody = needBody && body !== null ? usageFromInvokeBody(parseJson(body)) : null;
  if (input === null || output === null) {
    return fromBody === null ? null : { ...fromBody, latencyMs: latencyMs ?? fromBody.latencyMs };
  }
  const writeTotal =
    write ?? (fromBody === null ? 0 : fromBody.cacheWrite5m + fromBody.cacheWrite1h);
  // The body's split counts only if it actually reported cache writes with one.
  const bodySplit = fromBody?.cacheTtlKnown && fromBody.cacheWrite5m + fromBody.cacheWrite1h > 0;
  const oneHour = bodySplit ? fromBody.cacheWrite1h : null;
  return {
    input,
    output,
    cacheRead: read ?? fromBody?.cacheRead ?? 0,
    ...splitCacheWrite(writeTotal, oneHour),
    latencyMs,
    firstByteMs: null,
  };
}
