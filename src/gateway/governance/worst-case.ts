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

export interface MediaBlocks {
  readonly images: number;
  /** Documents and video. */
  readonly other: number;
}

/**
 * Media blocks of a Converse request, exactly: the `image`, `document` and `video` blocks of its messages, those
 * inside tool results included (a screenshot a tool returned is billed as an image too).
 */
export function converseMedia(body: Readonly<Record<string, unknown>>): MediaBlocks {
  const count = { images: 0, other: 0 };
  // Content lists still to visit (a list, not recursion: tool results nest as deep as a body can).
  const lists: unknown[] = [];
  if (Array.isArray(body.messages))
    for (const m of body.messages) lists.push((m as { content?: unknown } | null)?.content);
  for (
    let content = lists.pop();
    content !== undefined || lists.length > 0;
    content = lists.pop()
  ) {
    if (!Array.isArray(content)) continue;
    for (const block of content) {
      if (block === null || typeof block !== 'object') continue;
      if ('image' in block) count.images++;
      else if ('document' in block || 'video' in block) count.other++;
      else if ('toolResult' in block)
        lists.push((block.toolResult as { content?: unknown } | null)?.content);
    }
  }
  return count;
}

const IMAGE = Buffer.from('"image"');
const DOCUMENT = Buffer.from('"document"');
const VIDEO = Buffer.from('"video"');
/** An Anthropic document block (`"type": "document"`), or a Nova-style `"document"`/`"video"` object with a format. */
const OTHER_MEDIA = /"type"\s*:\s*"document"|"(?:document|video)"\s*:\s*\{\s*"format"/g;

/**
 * Media blocks of a body the gateway does not parse (InvokeModel, any provider's format), counted from above: every
 * `"image"` outside a string (a block's key or type; inside a JSON string the quotes are escaped, so text never
 * counts, and a schema naming a property "image" only loosens the bound by one image), and the document and video
 * block forms of Anthropic and Nova.
 */
export function rawBodyMedia(body: Buffer): MediaBlocks {
  let images = 0;
  for (let at = body.indexOf(IMAGE); at >= 0; at = body.indexOf(IMAGE, at + IMAGE.length)) images++;
  // The regex (and the string it needs) only when the words occur at all: a call body can be megabytes of image.
  const other =
    body.includes(DOCUMENT) || body.includes(VIDEO)
      ? (body.toString('latin1').match(OTHER_MEDIA)?.length ?? 0)
      : 0;
  return { images, other };
}
