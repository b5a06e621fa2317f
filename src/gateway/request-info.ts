/**
 * What the gateway reads from a model call before forwarding it: the operation and model from the path, the
 * largest output the call may produce, and the service tier. Bodies of the InvokeModel family are provider-native
 * and can be large (Claude Code sends ~50 KB), so they are scanned for the one number needed, never parsed whole.
 */
import type { Tier } from '../core/index.ts';

export type Operation =
  | 'Converse'
  | 'ConverseStream'
  | 'InvokeModel'
  | 'InvokeModelWithResponseStream';

const OPS: Readonly<Record<string, Operation>> = {
  converse: 'Converse',
  'converse-stream': 'ConverseStream',
  invoke: 'InvokeModel',
  'invoke-with-response-stream': 'InvokeModelWithResponseStream',
};

export const isStreaming = (op: Operation): boolean =>
  op === 'ConverseStream' || op === 'InvokeModelWithResponseStream';
export const isConverse = (op: Operation): boolean => op === 'Converse' || op === 'ConverseStream';

/** Model ids, profile ids and (application) inference-profile ARNs. */
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,2047}$/;

/** `/model/{modelId}/{op}` → its parts, or null when the path is not a model call; `bad` for an unusable model id. */
export function parseModelPath(
  path: string,
): { op: Operation; modelId: string } | { bad: string } | null {
  if (!path.startsWith('/model/')) return null;
  const slash = path.lastIndexOf('/');
  const op = OPS[path.slice(slash + 1)];
  if (op === undefined || slash <= 7) return null;
  let modelId: string;
  try {
    modelId = decodeURIComponent(path.slice(7, slash));
  } catch {
    return { bad: 'the model id in the path is not valid percent-encoding' };
  }
  const bad = badModelId(modelId);
  return bad === null ? { op, modelId } : { bad };
}

/** Why a model id cannot be forwarded (it is put in the upstream path), or null when it can. */
export function badModelId(modelId: string): string | null {
  return MODEL_ID.test(modelId)
    ? null
    : `invalid model identifier ${JSON.stringify(modelId.slice(0, 100))}`;
}

/** The path to forward: the model id encoded as the AWS SDK encodes it. */
export function modelPath(modelId: string, op: Operation): string {
  const suffix = Object.entries(OPS).find(([, o]) => o === op)?.[0] ?? 'invoke';
  return `/model/${encodeURIComponent(modelId)}/${suffix}`;
}

/** Output-length fields of the native bodies (Anthropic, Mistral/OpenAI-style, Nova, Titan, Llama, Cohere). */
const MAX_OUTPUT_KEYS = [
  '"max_tokens"',
  '"maxTokens"',
  '"max_new_tokens"',
  '"maxTokenCount"',
  '"max_gen_len"',
  '"max_completion_tokens"',
];

/**
 * The output limit of a native body, without parsing it: the largest value of any output-limit key, null when none
 * is set. A key inside a JSON string cannot match (its quotes are escaped there), but one nested in a tool's input
 * or schema can: taking the largest means such a key can only raise the reservation, never lower it below the
 * body's own limit (the first one found could be a `"max_tokens": 1` put in the history ahead of the real one).
 */
export function scanMaxOutput(body: Buffer): number | null {
  let max: number | null = null;
  for (const key of MAX_OUTPUT_KEYS) {
    for (let found = body.indexOf(key); found >= 0; found = body.indexOf(key, found + 1)) {
      let at = found + key.length;
      while (
        at < body.length &&
        (body[at] === 0x20 ||
          body[at] === 0x3a ||
          body[at] === 0x0a ||
          body[at] === 0x09 ||
          body[at] === 0x0d)
      )
        at++;
      let n = 0;
      let digits = 0;
      while (
        at < body.length &&
        (body[at] as number) >= 0x30 &&
        (body[at] as number) <= 0x39 &&
        digits < 9
      ) {
        n = n * 10 + ((body[at] as number) - 0x30);
        at++;
        digits++;
      }
      if (digits > 0 && (max === null || n > max)) max = n;
    }
  }
  return max;
}

/** The Converse body's output limit. */
export function converseMaxOutput(body: Record<string, unknown>): number | null {
  const m = (body.inferenceConfig as { maxTokens?: unknown } | undefined)?.maxTokens;
  return typeof m === 'number' && Number.isInteger(m) && m > 0 ? m : null;
}

/** Service tier from Converse's `serviceTier`/`performanceConfig` or the InvokeModel headers. */
export function tierOf(serviceTier: unknown, latency: unknown): Tier {
  if (latency === 'optimized') return 'latency-optimized';
  if (serviceTier === 'priority') return 'priority';
  if (serviceTier === 'flex') return 'flex';
  return 'standard';
}
