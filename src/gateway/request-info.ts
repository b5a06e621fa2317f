/**
 * What the gateway reads from a model call before forwarding it: the operation and model from the path, the
 * largest output the call may produce, and the service tier. Bodies of the InvokeModel family are provider-native
 * and can be large (Claude Code sends ~50 KB), so they are scanned for the one number needed, never parsed whole.
 */
import type { Tier } from '../core/index.ts';
import { type MediaBlocks, rawBodyMedia } from './governance/index.ts';

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
 * A limit written any other way than plain digits — an escaped key (`"max\u005ftokens"`), a number as a string, a
 * fraction or an exponent — is read by `nativeBodyFacts`, which parses such bodies.
 */
export function scanMaxOutput(body: Buffer): number | null {
  return scanPlain(body).max;
}

/** `scanMaxOutput`'s scan, and whether every output-limit key it met had a plain integer (or no number) after it. */
function scanPlain(body: Buffer): { max: number | null; plain: boolean } {
  let max: number | null = null;
  let plain = true;
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
      const next = body[at];
      // A string, a sign, a fraction or an exponent: a number the scan cannot read.
      if (next === 0x22 || next === 0x2d || next === 0x2e || next === 0x65 || next === 0x45)
        plain = false;
      if (digits > 0 && (max === null || n > max)) max = n;
    }
  }
  return { max, plain };
}

/** What a native (InvokeModel) body tells the reservation: its output limit and its media blocks. */
export interface NativeBodyFacts {
  readonly maxOutput: number | null;
  readonly media: MediaBlocks;
}

const ESCAPE = Buffer.from('\\u');
const MAX_OUTPUT_NAMES = new Set(MAX_OUTPUT_KEYS.map((k) => k.slice(1, -1)));

/**
 * The output limit and media blocks of a native body: scanned (`scanMaxOutput`, `rawBodyMedia`) when the body
 * writes them plainly, as clients do, else parsed. JSON lets a key be written with `\u` escapes and a number as
 * `6.4e4`; Bedrock reads those as the limit the scan would miss (reserving the default output for a call that may
 * bill its 64,000 tokens). A body that does not parse is refused by Bedrock unbilled: the scan's answer stands.
 */
export function nativeBodyFacts(body: Buffer): NativeBodyFacts {
  if (!body.includes(ESCAPE)) {
    const scan = scanPlain(body);
    if (scan.plain) return { maxOutput: scan.max, media: rawBodyMedia(body) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { maxOutput: scanMaxOutput(body), media: rawBodyMedia(body) };
  }
  let maxOutput: number | null = null;
  let images = 0;
  let other = 0;
  // Values still to visit (a list, not recursion: a body can nest as deep as JSON.parse reads).
  const values: unknown[] = [parsed];
  for (let v = values.pop(); values.length > 0 || v !== undefined; v = values.pop()) {
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const item of v) {
        if (item === 'image') images++;
        else if (item !== null && typeof item === 'object') values.push(item);
      }
      continue;
    }
    for (const [k, value] of Object.entries(v)) {
      if (MAX_OUTPUT_NAMES.has(k)) {
        const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
        if (typeof n === 'number' && n > 0 && Number.isFinite(n))
          maxOutput = Math.max(maxOutput ?? 0, Math.ceil(n));
      }
      // As rawBodyMedia counts them: every "image" key or value, Anthropic's document type, Nova's
      // document/video objects.
      if (k === 'image' || value === 'image') images++;
      if (
        (k === 'type' && value === 'document') ||
        ((k === 'document' || k === 'video') &&
          value !== null &&
          typeof value === 'object' &&
          'format' in value)
      )
        other++;
      if (value !== null && typeof value === 'object') values.push(value);
    }
  }
  // A key given twice: JSON.parse keeps the last value, another parser may keep the first; the scan's largest
  // plain value counts too.
  const scanned = scanMaxOutput(body);
  if (scanned !== null && (maxOutput === null || scanned > maxOutput)) maxOutput = scanned;
  return { maxOutput, media: { images, other } };
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
