/**
 * OpenAI chat completions ⇄ Bedrock Converse. A request becomes a Converse (or ConverseStream) body; the answer
 * becomes a `chat.completion` object or `chat.completion.chunk` server-sent events, with usage (always on the last
 * chunk when `stream_options.include_usage` is set). Text, images given as `data:` URLs, system/developer messages,
 * tool definitions, tool calls and tool results are translated; image URLs the gateway would have to fetch, audio,
 * files and other content types are refused with a clear 400, not dropped.
 */
import { type StreamError, type StreamListener, StreamUsageReader } from './eventstream.ts';
import { badModelId } from './request-info.ts';

export class TranslationError extends Error {}

interface ChatMessage {
  role?: unknown;
  content?: unknown;
  tool_calls?: unknown;
  tool_call_id?: unknown;
}

type Block = Record<string, unknown>;
interface ConverseMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

export interface ConverseRequest {
  readonly modelId: string;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly body: Record<string, unknown>;
  /** The caller's `user` field, kept as request metadata. */
  readonly user: string | null;
}

function textPart(p: unknown, where: string, i: number, supported = 'text parts'): string {
  const part = p as { type?: unknown; text?: unknown };
  if (part?.type === 'text' && typeof part.text === 'string') return part.text;
  throw new TranslationError(
    `${where}.content[${i}]: only ${supported} are supported (got ${JSON.stringify(part?.type)})`,
  );
}

function textOf(content: unknown, where: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) return content.map((p, i) => textPart(p, where, i)).join('');
  throw new TranslationError(`${where}.content must be a string or an array of text parts`);
}

/** The image formats Converse takes, by the media type of a `data:` URL. */
const IMAGE_FORMATS: Readonly<Record<string, string>> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};
const DATA_URL = /^data:([a-z]+\/[a-z0-9.+-]+);base64,([A-Za-z0-9+/]+={0,2})$/i;

/**
 * A user message's content as Converse blocks: text parts (adjacent ones joined, as `textOf` joins them) and images.
 * An image must come as base64 in a `data:` URL: Bedrock takes image bytes, and the gateway does not fetch URLs
 * (callers' URLs would make it a proxy into wherever it runs).
 */
function userBlocks(content: unknown, where: string): Block[] {
  if (!Array.isArray(content)) return [{ text: textOf(content, where) }];
  const blocks: Block[] = [];
  let text: string | null = null;
  content.forEach((p: unknown, i) => {
    const part = p as { type?: unknown; image_url?: { url?: unknown } | string };
    if (part?.type !== 'image_url') {
      text = (text ?? '') + textPart(part, where, i, 'text and image_url parts');
      return;
    }
    const url = typeof part.image_url === 'string' ? part.image_url : part.image_url?.url;
    const m = typeof url === 'string' ? DATA_URL.exec(url) : null;
    const format = m === null ? undefined : IMAGE_FORMATS[(m[1] as string).toLowerCase()];
    if (m === null || format === undefined)
      throw new TranslationError(
        `${where}.content[${i}].image_url: only base64 data: URLs of PNG, JPEG, GIF or WebP images are supported (Bedrock takes image bytes; the gateway does not fetch URLs)`,
      );
    if (text !== null) blocks.push({ text });
    text = null;
    blocks.push({ image: { format, source: { bytes: m[2] } } });
  });
  if (text !== null || blocks.length === 0) blocks.push({ text: text ?? '' });
  return blocks;
}

function parseArgs(args: unknown, where: string): unknown {
  if (typeof args !== 'string') return args ?? {};
  try {
    return JSON.parse(args === '' ? '{}' : args);
  } catch {
    throw new TranslationError(`${where}.function.arguments is not valid JSON`);
  }
}

/** Validates an OpenAI chat completions body and builds the Converse body. */
export function chatToConverse(input: unknown): ConverseRequest {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new TranslationError('the body must be a JSON object');
  const req = input as Record<string, unknown>;
  if (typeof req.model !== 'string' || req.model === '')
    throw new TranslationError('model is required (a Bedrock model or inference profile id)');
  const bad = badModelId(req.model);
  if (bad !== null) throw new TranslationError(bad);
  if (!Array.isArray(req.messages) || req.messages.length === 0)
    throw new TranslationError('messages must be a non-empty array');
  const system: Block[] = [];
  const messages: ConverseMessage[] = [];
  const push = (role: 'user' | 'assistant', blocks: Block[]) => {
    const last = messages.at(-1);
    if (last !== undefined && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  req.messages.forEach((m: ChatMessage, i) => {
    const where = `messages[${i}]`;
    if (m === null || typeof m !== 'object')
      throw new TranslationError(`${where} must be an object`);
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push({ text: textOf(m.content, where) });
        break;
      case 'user':
        push('user', userBlocks(m.content, where));
        break;
      case 'assistant': {
        const blocks: Block[] = [];
        const text = textOf(m.content, where);
        if (text !== '') blocks.push({ text });
        if (Array.isArray(m.tool_calls))
          m.tool_calls.forEach(
            (c: { id?: unknown; function?: { name?: unknown; arguments?: unknown } }, j) => {
              if (typeof c?.id !== 'string' || typeof c.function?.name !== 'string')
                throw new TranslationError(`${where}.tool_calls[${j}] needs id and function.name`);
              blocks.push({
                toolUse: {
                  toolUseId: c.id,
                  name: c.function.name,
                  input: parseArgs(c.function.arguments, `${where}.tool_calls[${j}]`),
                },
              });
            },
          );
        if (blocks.length === 0) blocks.push({ text: '' });
        push('assistant', blocks);
        break;
      }
      case 'tool':
        if (typeof m.tool_call_id !== 'string')
          throw new TranslationError(`${where}.tool_call_id is required`);
        push('user', [
          {
            toolResult: {
              toolUseId: m.tool_call_id,
              content: [{ text: textOf(m.content, where) }],
            },
          },
        ]);
        break;
      default:
        throw new TranslationError(`${where}.role ${JSON.stringify(m.role)} is not supported`);
    }
  });
  // Converse answers with one choice: more would be silently dropped, and billed calls with them.
  if (req.n !== undefined && req.n !== null && req.n !== 1)
    throw new TranslationError('n must be 1: Bedrock Converse returns one choice per call');
  const inference: Record<string, unknown> = {};
  const maxTokens = req.max_completion_tokens ?? req.max_tokens;
  if (maxTokens !== undefined && maxTokens !== null) {
    if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1)
      throw new TranslationError('max_tokens must be a positive integer');
    inference.maxTokens = maxTokens;
  }
  if (typeof req.temperature === 'number') inference.temperature = req.temperature;
  if (typeof req.top_p === 'number') inference.topP = req.top_p;
  if (typeof req.stop === 'string') inference.stopSequences = [req.stop];
  else if (Array.isArray(req.stop)) inference.stopSequences = req.stop;
  const body: Record<string, unknown> = { messages };
  if (system.length > 0) body.system = system;
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;
  if (Array.isArray(req.tools) && req.tools.length > 0) {
    const tools = req.tools.map(
      (
        t: {
          type?: unknown;
          function?: { name?: unknown; description?: unknown; parameters?: unknown };
        },
        i,
      ) => {
        if (t?.type !== 'function' || typeof t.function?.name !== 'string')
          throw new TranslationError(`tools[${i}] must be a function with a name`);
        return {
          toolSpec: {
            name: t.function.name,
            ...(typeof t.function.description === 'string'
              ? { description: t.function.description }
              : {}),
            inputSchema: { json: t.function.parameters ?? { type: 'object', properties: {} } },
          },
        };
      },
    );
    const choice = req.tool_choice;
    const toolChoice =
      choice === 'required'
        ? { any: {} }
        : typeof choice === 'object' && choice !== null
          ? { tool: { name: (choice as { function?: { name?: string } }).function?.name } }
          : undefined;
    if (choice !== 'none')
      body.toolConfig = toolChoice === undefined ? { tools } : { tools, toolChoice };
  }
  // Converse refuses toolUse/toolResult blocks without a toolConfig ("The toolConfig field must be defined when
  // using toolUse and toolResult content blocks"), and has no "none" choice: a conversation with tool calls in its
  // history but no tool to offer now (no tools, or tool_choice "none") gets one inert tool, so that none of the
  // caller's tools can be called and the call is still valid.
  if (body.toolConfig === undefined && hasToolBlocks(messages)) body.toolConfig = NO_TOOLS;
  const opts = req.stream_options as { include_usage?: unknown } | undefined;
  return {
    modelId: req.model,
    stream: req.stream === true,
    includeUsage: opts?.include_usage === true,
    body,
    user: typeof req.user === 'string' ? req.user : null,
  };
}

/** The toolConfig of a turn that may call no tool (see chatToConverse). */
const NO_TOOLS = {
  tools: [
    {
      toolSpec: {
        name: 'no_tool_available',
        description: 'No tool can be used in this turn. Do not call it; answer in text.',
        inputSchema: { json: { type: 'object', properties: {} } },
      },
    },
  ],
};

function hasToolBlocks(messages: readonly { content: readonly object[] }[]): boolean {
  return messages.some((m) => m.content.some((b) => 'toolUse' in b || 'toolResult' in b));
}

const FINISH: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  content_filtered: 'content_filter',
  guardrail_intervened: 'content_filter',
};

interface ConverseUsage {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

/** OpenAI's prompt_tokens count every input token, cached or not; Bedrock splits them. */
function openAiUsage(u: ConverseUsage | undefined) {
  const input = u?.inputTokens ?? 0;
  const cacheRead = u?.cacheReadInputTokens ?? 0;
  const prompt = input + cacheRead + (u?.cacheWriteInputTokens ?? 0);
  const completion = u?.outputTokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead },
  };
}

/** A Converse response body → a `chat.completion`. */
export function converseToChat(
  body: Buffer,
  model: string,
  requestId: string,
  created: number,
): string {
  const r = JSON.parse(body.toString('utf8')) as {
    output?: { message?: { content?: Block[] } };
    stopReason?: string;
    usage?: ConverseUsage;
  };
  let text = '';
  const calls: unknown[] = [];
  for (const b of r.output?.message?.content ?? []) {
    if (typeof b.text === 'string') text += b.text;
    const use = b.toolUse as { toolUseId?: string; name?: string; input?: unknown } | undefined;
    if (use !== undefined)
      calls.push({
        id: use.toolUseId,
        type: 'function',
        function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) },
      });
  }
  return JSON.stringify({
    id: `chatcmpl-${requestId}`,
    object: 'chat.completion',
    created,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: calls.length > 0 && text === '' ? null : text,
          ...(calls.length > 0 ? { tool_calls: calls } : {}),
        },
        finish_reason: FINISH[r.stopReason ?? ''] ?? 'stop',
        logprobs: null,
      },
    ],
    usage: openAiUsage(r.usage),
  });
}

/** OpenAI's error body for a status and message. */
export function openAiError(status: number, message: string, code: string | null = null): string {
  const type =
    status === 401
      ? 'authentication_error'
      : status === 403
        ? 'permission_error'
        : status === 429
          ? 'rate_limit_error'
          : status >= 500
            ? 'api_error'
            : 'invalid_request_error';
  return JSON.stringify({ error: { message, type, param: null, code } });
}

/**
 * Translates a ConverseStream event stream into chat completion chunks as bytes arrive: `push(chunk)` returns the
 * SSE text to send now (possibly empty). Frames may span chunks. The frames are parsed once, by `reader`, which
 * reads the usage on the way (a damaged frame stops both).
 */
export class ConverseStreamToSse implements StreamListener {
  readonly reader = new StreamUsageReader({ listener: this });
  /** Text of the events of the chunk being pushed. */
  #out = '';
  #tools = new Map<number, number>();
  #usage: ConverseUsage | undefined;
  #finish: string | null = null;
  #started = false;
  readonly #head: string;

  constructor(
    readonly model: string,
    readonly requestId: string,
    readonly created: number,
    readonly includeUsage: boolean,
  ) {
    this.#head = `{"id":${JSON.stringify(`chatcmpl-${requestId}`)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)}`;
  }

  #chunk(delta: unknown, finish: string | null): string {
    return `data: ${this.#head},"choices":[{"index":0,"delta":${JSON.stringify(delta)},"finish_reason":${JSON.stringify(finish)},"logprobs":null}]}\n\n`;
  }

  push(chunk: Uint8Array): string {
    this.reader.push(chunk);
    const out = this.#out;
    this.#out = '';
    return out;
  }

  failure(error: StreamError): void {
    // Named as the ledger records it (the SDK's class name), not by the wire's member name.
    this.#out += `data: ${openAiError(500, `${error.name}: ${error.message}`, error.name)}\n\n`;
  }

  event(type: string, text: string): void {
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return; // an event that is not JSON carries nothing to translate
    }
    if (payload === null || typeof payload !== 'object') return;
    this.#out += this.#event(type, payload);
  }

  #event(type: string, payload: Record<string, unknown>): string {
    switch (type) {
      case 'messageStart':
        this.#started = true;
        return this.#chunk({ role: 'assistant', content: '' }, null);
      case 'contentBlockStart': {
        const use = (payload.start as { toolUse?: { toolUseId?: string; name?: string } })?.toolUse;
        if (use === undefined) return '';
        const index = this.#tools.size;
        this.#tools.set(payload.contentBlockIndex as number, index);
        return this.#chunk(
          {
            tool_calls: [
              {
                index,
                id: use.toolUseId,
                type: 'function',
                function: { name: use.name, arguments: '' },
              },
            ],
          },
          null,
        );
      }
      case 'contentBlockDelta': {
        const d = payload.delta as { text?: string; toolUse?: { input?: string } };
        if (typeof d?.text === 'string') return this.#chunk({ content: d.text }, null);
        if (d?.toolUse !== undefined) {
          const index = this.#tools.get(payload.contentBlockIndex as number) ?? 0;
          return this.#chunk(
            { tool_calls: [{ index, function: { arguments: d.toolUse.input ?? '' } }] },
            null,
          );
        }
        return '';
      }
      case 'messageStop':
        this.#finish = FINISH[String(payload.stopReason)] ?? 'stop';
        return this.#chunk({}, this.#finish);
      case 'metadata':
        this.#usage = payload.usage as ConverseUsage;
        return '';
      default:
        return '';
    }
  }

  /** The last events: the usage chunk (when asked for) and `[DONE]`. */
  end(): string {
    let out = '';
    if (!this.#started) out += this.#chunk({ role: 'assistant', content: '' }, null);
    if (this.includeUsage)
      out += `data: ${this.#head},"choices":[],"usage":${JSON.stringify(openAiUsage(this.#usage))}}\n\n`;
    return `${out}data: [DONE]\n\n`;
  }
}
