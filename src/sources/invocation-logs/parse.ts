/**
 * Pure mapping of one Bedrock model-invocation-log record (bedrock.md §1.4–1.6) onto RawUsage. Total: any input
 * gives either a RawUsage or a reason naming the field that is wrong. Tokens come from the top-level counts; the
 * body only adds what the top level lacks (the 5m/1h cache-write split, tier, latency, first-byte latency).
 */
import {
  MAX_TOKEN_COUNT,
  pricedTier,
  type RawUsage,
  type SourceRef,
  servedTier,
  type Tier,
} from '../../core/index.ts';

type Obj = Record<string, unknown>;
export type ParseResult = { ok: true; usage: RawUsage } | { ok: false; reason: string };

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

class FieldError extends Error {}

function str(o: Obj, key: string, path: string): string {
  const v = o[key];
  if (typeof v === 'string' && v.length > 0) return v;
  if (v === undefined || v === null || v === '') throw new FieldError(`missing ${path}`);
  throw new FieldError(`${path} is ${describe(v)}, expected a string`);
}

function count(o: Obj | undefined, key: string, path: string): number | undefined {
  const v = o?.[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) {
    if (v <= MAX_TOKEN_COUNT) return v;
    throw new FieldError(
      `${path} is ${v}, more tokens than one call can have (at most ${MAX_TOKEN_COUNT})`,
    );
  }
  throw new FieldError(
    `${path} is ${typeof v === 'number' ? String(v) : describe(v)}, expected a non-negative integer`,
  );
}

function optionalStr(o: Obj, key: string, path: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  throw new FieldError(`${path} is ${describe(v)}, expected a string`);
}

function objOrEmpty(o: Obj, key: string, path: string): Obj {
  const v = o[key];
  if (v === undefined || v === null) return {};
  if (isObj(v)) return v;
  throw new FieldError(`${path} is ${describe(v)}, expected an object`);
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;

function timestamp(o: Obj): number {
  const text = str(o, 'timestamp', 'timestamp');
  const ms = TIMESTAMP.test(text)
    ? Date.parse(/[Z+-]\d{0,2}:?\d{0,2}$/.test(text.slice(19)) ? text : `${text}Z`)
    : NaN;
  if (Number.isNaN(ms))
    throw new FieldError(`timestamp "${text.slice(0, 40)}" is not an ISO-8601 time`);
  return ms;
}

function metadata(o: Obj): Record<string, string> {
  const md = objOrEmpty(o, 'requestMetadata', 'requestMetadata');
  for (const [k, v] of Object.entries(md)) {
    if (typeof v !== 'string')
      throw new FieldError(`requestMetadata.${k} is ${describe(v)}, expected a string`);
  }
  return md as Record<string, string>;
}

/** What the bodies add: usage fallbacks, the 1h cache-write count, tier, latencies. */
interface BodyFacts {
  cacheRead?: number | undefined;
  cacheWrite?: number | undefined;
  /** Cache writes with a 1h TTL, when the body shows the split. */
  write1h?: number | undefined;
  tier: Tier | null;
  latencyMs: number | null;
  firstByteMs: number | null;
}

const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.trunc(v) : undefined;
/** A token count from a body (which only fills in what the top level lacks): past `MAX_TOKEN_COUNT`, unknown. */
const tokens = (v: unknown): number | undefined => {
  const n = num(v);
  return n !== undefined && n <= MAX_TOKEN_COUNT ? n : undefined;
};
/** A latency in ms; past the ledger's INTEGER (24 days) it is no latency, unknown (bulk-logs.sql.ts: the same). */
const ms = (v: unknown): number | undefined => {
  const n = num(v);
  return n !== undefined && n <= 2_147_483_647 ? n : undefined;
};

function readUsage(usage: unknown, facts: BodyFacts): void {
  if (!isObj(usage)) return;
  // Converse (camelCase) and Anthropic native (snake_case) usage objects.
  facts.cacheRead ??= tokens(usage.cacheReadInputTokens) ?? tokens(usage.cache_read_input_tokens);
  facts.cacheWrite ??=
    tokens(usage.cacheWriteInputTokens) ?? tokens(usage.cache_creation_input_tokens);
  if (Array.isArray(usage.cacheDetails)) {
    let h1 = 0;
    for (const d of usage.cacheDetails)
      if (isObj(d) && d.ttl === '1h') h1 += tokens(d.inputTokens) ?? 0;
    facts.write1h = h1;
  }
  if (isObj(usage.cache_creation)) {
    facts.write1h = tokens(usage.cache_creation.ephemeral_1h_input_tokens) ?? 0;
  }
}

function readOutputBody(body: unknown, facts: BodyFacts): void {
  if (Array.isArray(body)) {
    // InvokeModelWithResponseStream: decoded stream chunks; the last carries amazon-bedrock-invocationMetrics.
    for (const chunk of body) {
      if (!isObj(chunk)) continue;
      if (isObj(chunk.message)) readUsage(chunk.message.usage, facts);
      readUsage(chunk.usage, facts);
      const m = chunk['amazon-bedrock-invocationMetrics'];
      if (isObj(m)) {
        facts.cacheRead ??= tokens(m.cacheReadInputTokenCount);
        facts.cacheWrite ??= tokens(m.cacheWriteInputTokenCount);
        facts.latencyMs ??= ms(m.invocationLatency) ?? null;
        facts.firstByteMs ??= ms(m.firstByteLatency) ?? null;
      }
    }
    return;
  }
  if (!isObj(body)) return;
  readUsage(body.usage, facts);
  if (isObj(body.metrics)) facts.latencyMs ??= ms(body.metrics.latencyMs) ?? null;
  const m = body['amazon-bedrock-invocationMetrics'];
  if (isObj(m)) {
    facts.latencyMs ??= ms(m.invocationLatency) ?? null;
    facts.firstByteMs ??= ms(m.firstByteLatency) ?? null;
  }
}

/**
 * The tier the call ran at, when the log says it. A Converse body always carries it (`serviceTier`; absent means
 * the default tier); an InvokeModel body only when the model's own request format has a field for it, since
 * InvokeModel sets it in a header (`X-Amzn-Bedrock-Service-Tier`) the log does not keep, so an InvokeModel body
 * without one leaves the tier unknown (priced at standard, flagged `tier_unknown`; bedrock.md §4.4, §5.5).
 */
function tierOf(record: Obj, inputBody: unknown, outputBody: unknown): Tier | null {
  const asked = askedTier(record, inputBody);
  // The tier Bedrock says served the call (a Converse answer's serviceTier, {type}) wins over the one asked for.
  const served =
    isObj(outputBody) && isObj(outputBody.serviceTier) ? servedTier(outputBody.serviceTier) : null;
  return asked === null ? served : pricedTier(asked, served);
}

function askedTier(record: Obj, inputBody: unknown): Tier | null {
  const perf = isObj(record.performanceConfig) ? record.performanceConfig.latency : undefined;
  const body = isObj(inputBody) ? inputBody : undefined;
  const bodyPerf =
    body && isObj(body.performanceConfig) ? body.performanceConfig.latency : undefined;
  if (perf === 'optimized' || bodyPerf === 'optimized') return 'latency-optimized';
  const st = body?.serviceTier ?? body?.service_tier;
  const type = isObj(st) ? st.type : st;
  if (type === 'priority') return 'priority';
  if (type === 'flex') return 'flex';
  if (type === 'default' || type === 'standard') return 'standard';
  // A Converse body in hand with no tier in it: the call used the default tier.
  return body !== undefined && CONVERSE_OPERATIONS.has(record.operation) ? 'standard' : null;
}
const CONVERSE_OPERATIONS = new Set<unknown>(['Converse', 'ConverseStream']);

export function parseRecord(value: unknown, source: SourceRef): ParseResult {
  if (!isObj(value))
    return { ok: false, reason: `record is ${describe(value)}, expected a JSON object` };
  try {
    const schemaType = value.schemaType;
    if (schemaType !== 'ModelInvocationLog') {
      return {
        ok: false,
        reason: `schemaType is ${JSON.stringify(schemaType) ?? 'missing'}, expected "ModelInvocationLog"`,
      };
    }
    if (value.schemaVersion !== '1.0') {
      return {
        ok: false,
        reason: `unknown schemaVersion ${JSON.stringify(value.schemaVersion) ?? '(missing)'}, expected "1.0"`,
      };
    }
    const input = objOrEmpty(value, 'input', 'input');
    const output = objOrEmpty(value, 'output', 'output');
    const identity = objOrEmpty(value, 'identity', 'identity');
    const facts: BodyFacts = { tier: null, latencyMs: null, firstByteMs: null };
    readOutputBody(output.outputBodyJson, facts);
    const inputTokens = count(input, 'inputTokenCount', 'input.inputTokenCount') ?? 0;
    const cacheRead =
      count(input, 'cacheReadInputTokenCount', 'input.cacheReadInputTokenCount') ??
      facts.cacheRead ??
      0;
    const cacheWrite =
      count(input, 'cacheWriteInputTokenCount', 'input.cacheWriteInputTokenCount') ??
      facts.cacheWrite ??
      0;
    const write1h = Math.min(facts.write1h ?? 0, cacheWrite);
    const usage: RawUsage = {
      requestId: str(value, 'requestId', 'requestId'),
      occurredAt: timestamp(value),
      accountId: str(value, 'accountId', 'accountId'),
      region: str(value, 'region', 'region'),
      inferenceRegion: optionalStr(value, 'inferenceRegion', 'inferenceRegion'),
      operation: str(value, 'operation', 'operation'),
      modelId: str(value, 'modelId', 'modelId'),
      identityArn: optionalStr(identity, 'arn', 'identity.arn'),
      requestMetadata: metadata(value),
      tokens: {
        input: inputTokens,
        output: count(output, 'outputTokenCount', 'output.outputTokenCount') ?? 0,
        cacheRead,
        cacheWrite5m: cacheWrite - write1h,
        cacheWrite1h: write1h,
      },
      cacheTtlKnown: cacheWrite === 0 || facts.write1h !== undefined,
      tier: tierOf(value, input.inputBodyJson, output.outputBodyJson),
      latencyMs: facts.latencyMs,
      firstByteMs: facts.firstByteMs,
      errorCode: optionalStr(value, 'errorCode', 'errorCode') || null,
      source,
    };
    return { ok: true, usage };
  } catch (e: unknown) {
    if (e instanceof FieldError) return { ok: false, reason: e.message };
    throw e;
  }
}
