/**
 * Request and response bodies per operation and model family, in the shapes Bedrock logs them: Converse
 * (camelCase usage, cacheDetails), Anthropic native (snake_case usage, cache_creation), the Anthropic stream as an
 * array of chunks ending in `amazon-bedrock-invocationMetrics`, Nova and Llama native, Titan and Cohere embeddings.
 */
import type { Tokens } from '../core/index.ts';
import type { Family } from './organisation.ts';
import type { Random } from './random.ts';
import type { Exchange } from './texts.ts';
import type { Timing } from './tokens.ts';
import type { Operation } from './workloads.ts';

export type Json =
  | string
  | number
  | boolean
  | null
  | readonly Json[]
  | { readonly [key: string]: Json };
export type JsonObject = { readonly [key: string]: Json };

export interface BodyRequest {
  readonly family: Family;
  readonly operation: Operation;
  readonly modelId: string;
  readonly cache: boolean;
  readonly tokens: Tokens;
  readonly timing: Timing;
  readonly exchange: Exchange;
  readonly system: string;
}

export interface Bodies {
  readonly input: JsonObject;
  /** Null when the call failed: there is nothing to log. */
  readonly output: Json;
}

export function buildBodies(req: BodyRequest, failed: boolean, rng: Random): Bodies {
  if (req.operation === 'Converse' || req.operation === 'ConverseStream') {
    return { input: converseInput(req), output: failed ? null : converseOutput(req) };
  }
  switch (req.family) {
    case 'anthropic': {
      const input = anthropicInput(req);
      if (failed) return { input, output: null };
      const streamed = req.operation === 'InvokeModelWithResponseStream';
      return { input, output: streamed ? anthropicStream(req, rng) : anthropicMessage(req, rng) };
    }
    case 'nova':
      return {
        input: { schemaVersion: 'messages-v1', ...converseInput(req) },
        output: failed ? null : converseOutput(req, false),
      };
    case 'llama':
      return { input: llamaInput(req), output: failed ? null : llamaOutput(req) };
    case 'titan-embed':
      return {
        input: { inputText: req.exchange.prompt, dimensions: 512, normalize: true },
        output: failed ? null : { inputTextTokenCount: req.tokens.input },
      };
    case 'cohere-embed':
      return {
        input: { texts: [req.exchange.prompt], input_type: 'search_query', truncate: 'END' },
        output: failed
          ? null
          : {
              id: rng.uuid(),
              response_type: 'embeddings_floats',
              texts: [req.exchange.prompt.toLowerCase()],
            },
      };
    default:
      throw new RangeError(`${req.family} has no native body for ${req.operation}`);
  }
}

function converseInput(req: BodyRequest): JsonObject {
  const system: Json[] = req.system ? [{ text: req.system }] : [];
  if (req.system && req.cache) system.push({ cachePoint: { type: 'default' } });
  return {
    messages: [{ role: 'user', content: [{ text: req.exchange.prompt }] }],
    ...(system.length > 0 ? { system } : {}),
    inferenceConfig: { maxTokens: 2048, temperature: 0.3 },
  };
}

function converseOutput(req: BodyRequest, withMetrics = true): JsonObject {
  const t = req.tokens;
  const writes = t.cacheWrite5m + t.cacheWrite1h;
  const usage: JsonObject = {
    inputTokens: t.input,
    outputTokens: t.output,
    totalTokens: t.input + t.cacheRead + writes + t.output,
    ...(req.cache || req.family === 'nova'
      ? { cacheReadInputTokens: t.cacheRead, cacheWriteInputTokens: writes }
      : {}),
    ...(writes > 0 ? { cacheDetails: cacheDetails(t) } : {}),
  };
  return {
    output: { message: { role: 'assistant', content: [{ text: req.exchange.reply }] } },
    stopReason: 'end_turn',
    usage,
    ...(withMetrics ? { metrics: { latencyMs: req.timing.latencyMs } } : {}),
  };
}

/** Sorted 1h before 5m, zero entries left out, as the API documents. */
function cacheDetails(t: Tokens): Json[] {
  const out: Json[] = [];
  if (t.cacheWrite1h > 0) out.push({ ttl: '1h', inputTokens: t.cacheWrite1h });
  if (t.cacheWrite5m > 0) out.push({ ttl: '5m', inputTokens: t.cacheWrite5m });
  return out;
}

function anthropicInput(req: BodyRequest): JsonObject {
  const system = req.cache
    ? [{ type: 'text', text: req.system, cache_control: { type: 'ephemeral' } }]
    : req.system;
  return {
    anthropic_version: 'bedrock-2023-05-31',
    max_tokens: 4096,
    system,
    messages: [{ role: 'user', content: [{ type: 'text', text: req.exchange.prompt }] }],
  };
}

function anthropicUsage(req: BodyRequest, outputTokens: number): JsonObject {
  const t = req.tokens;
  return {
    input_tokens: t.input,
    cache_creation_input_tokens: t.cacheWrite5m + t.cacheWrite1h,
    cache_read_input_tokens: t.cacheRead,
    ...(req.cache
      ? {
          cache_creation: {
            ephemeral_5m_input_tokens: t.cacheWrite5m,
            ephemeral_1h_input_tokens: t.cacheWrite1h,
          },
        }
      : {}),
    output_tokens: outputTokens,
  };
}

/** `anthropic.claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5-20250929`, as the Messages API reports it. */
function anthropicModelName(modelId: string): string {
  const id = modelId.slice(modelId.lastIndexOf('anthropic.') + 'anthropic.'.length);
  return id.replace(/-v\d+(:\d+)?$/, '');
}

function anthropicMessage(req: BodyRequest, rng: Random): JsonObject {
  return {
    id: `msg_bdrk_01${rng.alnum(22)}`,
    type: 'message',
    role: 'assistant',
    model: anthropicModelName(req.modelId),
    content: [{ type: 'text', text: req.exchange.reply }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: anthropicUsage(req, req.tokens.output),
  };
}

function anthropicStream(req: BodyRequest, rng: Random): Json[] {
  const t = req.tokens;
  const text = req.exchange.reply;
  const cut = Math.max(1, Math.floor(text.length / 2));
  const metrics: JsonObject = {
    inputTokenCount: t.input,
    outputTokenCount: t.output,
    invocationLatency: req.timing.latencyMs,
    firstByteLatency: req.timing.firstByteMs,
    ...(req.cache
      ? {
          cacheReadInputTokenCount: t.cacheRead,
          cacheWriteInputTokenCount: t.cacheWrite5m + t.cacheWrite1h,
        }
      : {}),
  };
  return [
    {
      type: 'message_start',
      message: {
        id: `msg_bdrk_01${rng.alnum(22)}`,
        type: 'message',
        role: 'assistant',
        model: anthropicModelName(req.modelId),
        content: [],
        stop_reason: null,
        stop_sequence: null,
        // The placeholder the real stream carries: the final count is in message_delta.
        usage: anthropicUsage(req, 1),
      },
    },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    {
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: text.slice(0, cut) },
    },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: text.slice(cut) } },
    { type: 'content_block_stop', index: 0 },
    {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: t.output },
    },
    { type: 'message_stop', 'amazon-bedrock-invocationMetrics': metrics },
  ];
}

function llamaInput(req: BodyRequest): JsonObject {
  return {
    prompt: `<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n${req.exchange.prompt}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n`,
    max_gen_len: 1024,
    temperature: 0.5,
  };
}

function llamaOutput(req: BodyRequest): JsonObject {
  return {
    generation: req.exchange.reply,
    prompt_token_count: req.tokens.input,
    generation_token_count: req.tokens.output,
    stop_reason: 'stop',
  };
}
