/**
 * The worst case a call is reserved for before it is forwarded. The overshoot bound of the governor holds exactly
 * when this is an upper bound of what Bedrock bills, so every assumption is written down here:
 * - Input tokens ≤ UTF-8 bytes of the request body + `overheadTokens` + `imageTokens` per image block. Byte-level
 *   BPE tokenizers (Claude, Llama, Mistral, Cohere) emit at least one byte per token, and the JSON around the text
 *   only adds bytes; the overhead covers what the provider adds outside the body (tool-use system prompt, role
 *   markers); an image costs at most ~1,600 tokens on Claude however small its encoding (a tiny WebP can stand for
 *   a full-size image, so its bytes are no bound).
 * - Documents and video have no byte bound (a few hundred bytes of PDF can be a page image): a call with them is
 *   bounded by the model's context window, or `maxInputTokens` when that is unknown.
 * - Input never exceeds the context window (Bedrock rejects such calls unbilled), when the gateway knows it.
 * - Output tokens ≤ the call's max tokens (thinking tokens count within it). A call that sets none gets
 *   `defaultMaxOutputTokens`, which the gateway must then send upstream: `capOutputTo` says so.
 * - Cost: input tokens at the dearest input-side rate the call can be billed (a 1-hour cache write when it uses
 *   cache points; long-context rates when the bound passes the threshold) plus output tokens at the output rate.
 */
import type { GatewayReservation } from '../config.ts';

/** What the gateway knows about a call before forwarding it. */
export interface WorstCaseInput {
  /** Bytes of the request body as received (media payloads included). */
  readonly bodyBytes: number;
  readonly imageBlocks?: number;
  /** Document and video blocks. */
  readonly otherMediaBlocks?: number;
  /** The call's own output limit, if it sets one. */
  readonly maxOutputTokens?: number | null;
  /** The model's context window in tokens, if known. */
  readonly contextWindowTokens?: number | null;
}

/** Upper bounds of a call's tokens. */
export interface WorstCaseTokens {
  readonly input: number;
  readonly output: number;
  /** Non-null when the call set no output limit: send this limit upstream, or the bound does not hold. */
  readonly capOutputTo: number | null;
}

/** Token bounds of a call (the rules are in this file's header). */
export function worstCaseTokens(call: WorstCaseInput, policy: GatewayReservation): WorstCaseTokens {
  const window = call.contextWindowTokens ?? null;
  let input: number;
  if ((call.otherMediaBlocks ?? 0) > 0) {
    input = window ?? policy.maxInputTokens;
  } else {
    input = call.bodyBytes + policy.overheadTokens + (call.imageBlocks ?? 0) * policy.imageTokens;
    if (window !== null) input = Math.min(input, window);
  }
  const own = call.maxOutputTokens ?? null;
  const output = own ?? policy.defaultMaxOutputTokens;
  return { input, output, capOutputTo: own === null ? policy.defaultMaxOutputTokens : null };
}

/** Worst-case cost in pico-USD from token bounds and the dearest applicable per-token rates. */
export function worstCaseCost(
  tokens: WorstCaseTokens,
  rates: { readonly inputPicosPerToken: bigint; readonly outputPicosPerToken: bigint },
): bigint {
  return (
    BigInt(tokens.input) * rates.inputPicosPerToken +
    BigInt(tokens.output) * rates.outputPicosPerToken
  );
}
