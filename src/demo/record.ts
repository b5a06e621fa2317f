/**
 * Turns a planned invocation into one `ModelInvocationLog` record (one NDJSON line), and, for large requests,
 * the offloaded input body that the record then points at with `input.inputBodyS3Path`.
 */
import type { Tokens } from '../core/index.ts';
import { buildBodies, type JsonObject } from './bodies.ts';
import { DEMO_BUCKET } from './organisation.ts';
import type { Invocation } from './plan.ts';
import type { Random } from './random.ts';

/** Prompts bigger than this (in tokens) have their input body offloaded, like the ≥ 25 KB bodies seen live. */
const OFFLOAD_PROMPT_TOKENS = 185_000;

export interface BuiltRecord {
  readonly line: string;
  /** An input body written as its own object under `<hour>/data/`, or null. */
  readonly offload: { readonly key: string; readonly body: string } | null;
}

/**
 * The token counts a record reports, which is what AWS meters and bills: Cohere embeddings report no output count
 * (`buildRecord` leaves `outputTokenCount` out), so their drawn output tokens are not usage.
 */
export function reportedTokens(inv: Invocation): Tokens {
  const t = inv.tokens;
  return inv.model.family === 'cohere-embed' && t.output !== 0 ? { ...t, output: 0 } : t;
}

/** `2026-04-14T08:57:15Z`: ISO-8601 UTC without milliseconds, as Bedrock writes it. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `hourKey` is the record file's folder, `AWSLogs/<acct>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH`. */
export function buildRecord(inv: Invocation, hourKey: string, rng: Random): BuiltRecord {
  const t = inv.tokens;
  const failed = inv.errorCode !== null;
  const bodies = inv.textDelivery
    ? buildBodies(
        {
          family: inv.model.family,
          operation: inv.operation,
          modelId: inv.model.id,
          cache: inv.model.cache,
          tokens: t,
          timing: inv.timing,
          exchange: inv.exchange,
          system: inv.system,
        },
        failed,
        rng,
      )
    : null;

  const prompt = t.input + t.cacheRead + t.cacheWrite5m + t.cacheWrite1h;
  const offloadKey =
    bodies && prompt > OFFLOAD_PROMPT_TOKENS
      ? `${hourKey}/data/${inv.requestId}_input.json.gz`
      : null;
  const offload =
    bodies && offloadKey ? { key: offloadKey, body: JSON.stringify(bodies.input) } : null;
  const input: JsonObject = {
    inputContentType: 'application/json',
    ...(offloadKey
      ? { inputBodyS3Path: `s3://${DEMO_BUCKET}/${offloadKey}` }
      : bodies
        ? { inputBodyJson: bodies.input }
        : {}),
    inputTokenCount: t.input,
    ...(inv.cacheFields
      ? {
          cacheReadInputTokenCount: t.cacheRead,
          cacheWriteInputTokenCount: t.cacheWrite5m + t.cacheWrite1h,
        }
      : {}),
  };
  const output: JsonObject = {
    ...(failed ? {} : { outputContentType: 'application/json' }),
    ...(bodies && bodies.output !== null ? { outputBodyJson: bodies.output } : {}),
    // Cohere embeddings report no output count at all; Titan reports 0.
    ...(inv.model.family !== 'cohere-embed' || failed ? { outputTokenCount: t.output } : {}),
  };

  // Real records do not keep one field order: identity sometimes leads, sometimes trails the bodies.
  const identityFirst = rng.chance(0.7);
  const identity = { identity: { arn: inv.identityArn } };
  const metadata = inv.requestMetadata ? { requestMetadata: inv.requestMetadata } : {};
  const record: JsonObject = {
    schemaType: 'ModelInvocationLog',
    schemaVersion: '1.0',
    timestamp: isoSeconds(inv.timestamp),
    accountId: inv.accountId,
    ...(identityFirst ? identity : {}),
    region: inv.region,
    requestId: inv.requestId,
    operation: inv.operation,
    modelId: inv.modelId,
    ...(identityFirst ? metadata : {}),
    input,
    output,
    ...(identityFirst ? {} : { ...identity, ...metadata }),
    ...(inv.inferenceRegion !== null ? { inferenceRegion: inv.inferenceRegion } : {}),
    ...(failed ? { errorCode: inv.errorCode } : {}),
  };
  return { line: JSON.stringify(record), offload };
}
