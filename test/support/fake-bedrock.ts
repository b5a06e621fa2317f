/**
 * A local fake of the Bedrock runtime endpoint, served by the gateway's own dual HTTP/1.1 + h2c listener, so the real
 * AWS SDK v3 client (which speaks h2c to plain endpoints) and Claude Code (HTTP/1.1) can both call it. It answers
 * Converse, ConverseStream, InvokeModel and InvokeModelWithResponseStream (Anthropic Messages bodies) in Bedrock's wire
 * formats — JSON, `x-amzn-bedrock-*` headers, `application/vnd.amazon.eventstream` frames encoded with
 * @smithy/eventstream-codec — and fails in Bedrock's shapes (`x-amzn-ErrorType` + `{"message"}`; in-stream
 * `:message-type: exception|error`). Its validation against the SDK is `fake-bedrock.test.ts`.
 *
 * Token counts are deterministic: input ≈ request body bytes / 4; the content up to the last cache marker
 * (Converse `cachePoint`, Anthropic `cache_control`) is a cache write the first time this fake sees it and a cache
 * read afterwards; output = min(max tokens asked, `outputTokens`). Every request is recorded with what was billed.
 */
import { createHash, randomUUID } from 'node:crypto';
import http2, { Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import type { Tokens } from '../../src/core/index.ts';
import { createDualServer, type DualRequest, type DualResponse } from '../../src/gateway/listen.ts';

export type FakeOperation =
  | 'Converse'
  | 'ConverseStream'
  | 'InvokeModel'
  | 'InvokeModelWithResponseStream';

/** Exceptions of the Bedrock runtime model, with the HTTP status each is modelled with. */
export const EXCEPTION_STATUS = {
  AccessDeniedException: 403,
  InternalServerException: 500,
  ModelErrorException: 424,
  ModelNotReadyException: 429,
  ModelStreamErrorException: 424,
  ModelTimeoutException: 408,
  ResourceNotFoundException: 404,
  ServiceQuotaExceededException: 400,
  ServiceUnavailableException: 503,
  ThrottlingException: 429,
  ValidationException: 400,
} as const;
export type BedrockException = keyof typeof EXCEPTION_STATUS;
/** The exceptions a stream may carry as an event (the ResponseStream / ConverseStreamOutput unions). */
export type StreamException =
  | 'InternalServerException'
  | 'ModelStreamErrorException'
  | 'ValidationException'
  | 'ThrottlingException'
  | 'ModelTimeoutException'
  | 'ServiceUnavailableException';

export type Behaviour =
  /** An HTTP error response in Bedrock's shape; status defaults to the exception's modelled one. */
  | {
      readonly kind: 'error';
      readonly exception: string;
      readonly status?: number;
      readonly message?: string;
    }
  /** Never answer (the request stays open until the client gives up or the fake closes). */
  | { readonly kind: 'hang' }
  /** Cut the response: streams after `afterEvents` frames, JSON operations before any byte. */
  | { readonly kind: 'abort'; readonly afterEvents: number }
  /** Streams: after `afterEvents` frames, an exception event, then the end of the stream. */
  | {
      readonly kind: 'stream-exception';
      readonly afterEvents: number;
      readonly exception: StreamException;
      readonly message?: string;
    }
  /** Streams: after `afterEvents` frames, an `:message-type: error` event, then the end. */
  | {
      readonly kind: 'stream-error';
      readonly afterEvents: number;
      readonly code: string;
      readonly message?: string;
    }
  /** A normal answer, optionally delayed, paced, or with forced token counts. */
  | {
      readonly kind: 'respond';
      readonly delayMs?: number;
      readonly eventDelayMs?: number;
      readonly outputTokens?: number;
      readonly tokens?: Partial<Tokens>;
      /** The tier the answer says served the call (default: the one asked for; none when none was). */
      readonly servedTier?: string;
    };

/** Decides how to answer one request (it sees the request as recorded so far); undefined = answer normally. */
export type BehaviourRule = (request: RecordedRequest) => Behaviour | undefined;

/** A rule that applies `behaviour` to the next `n` requests (default 1) it is asked about, then to none. */
export function nextRequests(behaviour: Behaviour, n = 1): BehaviourRule {
  let left = n;
  return () => (left-- > 0 ? behaviour : undefined);
}

export interface RecordedRequest {
  /** The `x-amzn-RequestId` this request was answered with. */
  readonly requestId: string;
  readonly operation: FakeOperation | null;
  /** Decoded from the path (`arn:aws:bedrock:…/x`, `anthropic.claude-v2:1`). */
  readonly modelId: string;
  readonly method: string;
  /** The request target exactly as received. */
  readonly rawPath: string;
  readonly httpVersion: string;
  /** Lower-cased names; HTTP/2 pseudo-headers included. */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body, or undefined when it was not JSON. */
  readonly body: unknown;
  readonly bodyBytes: number;
  /** Converse `requestMetadata`, or the parsed `X-Amzn-Bedrock-Request-Metadata` header. */
  readonly requestMetadata: Readonly<Record<string, string>> | null;
  readonly auth: 'sigv4' | 'bearer' | 'none';
  /** What Bedrock billed: null when the request was refused before inference. */
  tokens: Tokens | null;
  status: number;
  /** The exception name (HTTP or in-stream), null on success. */
  error: string | null;
  /** Event-stream frames written. */
  eventsSent: number;
  /** `aborted`: cut by the fake (behaviour `abort`); `client-closed`: the client went away mid-response. */
  outcome: 'pending' | 'ok' | 'error' | 'aborted' | 'hung' | 'client-closed';
}

export interface FakeBedrockOptions {
  /** Output tokens when max tokens allow (default 12). */
  readonly outputTokens?: number;
  /** Reported invocation latency and first-byte latency (ms); reported only, nothing waits. Defaults 42 and 17. */
  readonly latencyMs?: number;
  readonly firstByteMs?: number;
  /** When given, SigV4 signatures are verified with these keys (a wrong one answers 403 like Bedrock). */
  readonly credentials?: readonly {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
  }[];
  /** When given, only these bearer tokens (Bedrock API keys) are accepted. */
  readonly bearerTokens?: readonly string[];
  /** Refuse a request with neither SigV4 nor a bearer token (default true, as Bedrock does). */
  readonly requireAuth?: boolean;
  readonly region?: string;
  /** Keep every request in `requests` (default true); benchmarks turn it off to keep memory flat. */
  readonly record?: boolean;
  /** Serve HTTPS with this certificate (its `url` then names `localhost`, the name the test certificate holds). */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** The port on 127.0.0.1 (default: any free one). */
  readonly port?: number;
}

export interface FakeBedrock {
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /**
   * Installs a rule consulted for every request (replacing the previous one); null restores normal answers. It runs
   * after authentication and routing, before body validation, so a rule can fail requests Bedrock would accept.
   */
  behave(rule: BehaviourRule | null): void;
  close(): Promise<void>;
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);
type FrameHeaders = Parameters<EventStreamCodec['encode']>[0]['headers'];
const PADDING = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ERROR_TYPE_SUFFIX = ':http://internal.amazon.com/coral/com.amazon.bedrock/';

/**
 * Event frames already encoded, by type and body: the benchmark's fake answers the same request over and over, and
 * encoding (headers and two CRC32s in JS) was a third of its CPU on streams, taken from the cores the proxies under
 * test share with it. Bounded; the frames are shared, so nobody may write into one (tests damage copies).
 */
const encodedEvents = new Map<string, Uint8Array>();
const ENCODED_EVENTS_MAX = 4096;

/** One event-stream frame, as Bedrock writes it: `:event-type`, `:content-type`, `:message-type` and a JSON body. */
export function eventFrame(eventType: string, body: Record<string, unknown>): Uint8Array {
  const json = JSON.stringify(body);
  const key = `${eventType} ${json}`;
  let encoded = encodedEvents.get(key);
  if (encoded === undefined) {
    if (encodedEvents.size >= ENCODED_EVENTS_MAX) encodedEvents.clear();
    encoded = frame(
      {
        ':event-type': { type: 'string', value: eventType },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'event' },
      },
      json,
    );
    encodedEvents.set(key, encoded);
  }
  return encoded;
}

/** An InvokeModelWithResponseStream `chunk` frame carrying one model event, base64 in `bytes`, padded like Bedrock. */
export function chunkFrame(modelEvent: Record<string, unknown>, padding = 11): Uint8Array {
  const bytes = Buffer.from(JSON.stringify(modelEvent)).toString('base64');
  return eventFrame('chunk', { bytes, p: PADDING.slice(0, padding) });
}

/** An exception event: `:exception-type` is the union member name (`throttlingException`). */
export function exceptionFrame(exception: string, message: string): Uint8Array {
  return frame(
    {
      ':exception-type': {
        type: 'string',
        value: exception.charAt(0).toLowerCase() + exception.slice(1),
      },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'exception' },
    },
    JSON.stringify({ message }),
  );
}

/** An `:message-type: error` event: code and message in headers, empty body. */
export function errorFrame(code: string, message: string): Uint8Array {
  return frame(
    {
      ':error-code': { type: 'string', value: code },
      ':error-message': { type: 'string', value: message },
      ':message-type': { type: 'string', value: 'error' },
    },
    '',
  );
}

function frame(headers: FrameHeaders, body: string): Uint8Array {
  return codec.encode({ headers, body: fromUtf8(body) });
}

interface Plan {
  readonly tokens: Tokens;
  readonly stopReason: string;
  readonly text: string[];
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The blocks, in prompt order, in which a cache marker may sit, and where the last marker is. */
function cachePrefix(
  operation: FakeOperation,
  body: Json,
): { bytes: number; key: string; ttl: string } | null {
  const blocks: unknown[] = [];
  const add = (v: unknown): void => {
    if (Array.isArray(v)) blocks.push(...v);
    else if (v !== undefined) blocks.push(v);
  };
  const converse = operation === 'Converse' || operation === 'ConverseStream';
  add(converse ? (isObj(body.toolConfig) ? body.toolConfig.tools : undefined) : body.tools);
  add(body.system);
  if (Array.isArray(body.messages)) {
    for (const m of body.messages) if (isObj(m)) add(m.content);
  }
  let last = -1;
  let ttl = '5m';
  blocks.forEach((b, i) => {
    const marker = isObj(b) ? (converse ? b.cachePoint : b.cache_control) : undefined;
    if (isObj(marker)) {
      last = i;
      ttl = marker.ttl === '1h' ? '1h' : '5m';
    }
  });
  if (last < 0) return null;
  const prefix = JSON.stringify(blocks.slice(0, last + 1));
  return {
    bytes: Buffer.byteLength(prefix),
    key: createHash('sha256').update(prefix).digest('hex'),
    ttl,
  };
}

function maxTokensOf(operation: FakeOperation, body: Json): number | null {
  const v = operation.startsWith('Converse')
    ? isObj(body.inferenceConfig)
      ? body.inferenceConfig.maxTokens
      : undefined
    : body.max_tokens;
  return typeof v === 'number' ? v : null;
}

function plan(
  operation: FakeOperation,
  modelId: string,
  body: Json,
  bodyBytes: number,
  cache: Set<string>,
  outputTokens: number,
  forced: Partial<Tokens> | undefined,
): Plan {
  const total = Math.ceil(bodyBytes / 4);
  const prefix = cachePrefix(operation, body);
  let cached = 0;
  let read = 0;
  let write5m = 0;
  let write1h = 0;
  if (prefix !== null) {
    cached = Math.min(Math.ceil(prefix.bytes / 4), total - 1);
    const key = `${modelId}\n${prefix.key}`;
    if (cache.has(key)) read = cached;
    else if (prefix.ttl === '1h') write1h = cached;
    else write5m = cached;
    cache.add(key);
  }
  const max = maxTokensOf(operation, body);
  const output = max === null ? outputTokens : Math.max(0, Math.min(max, outputTokens));
  const tokens: Tokens = {
    input: total - cached,
    output,
    cacheRead: read,
    cacheWrite5m: write5m,
    cacheWrite1h: write1h,
    ...forced,
  };
  const text = Array.from({ length: tokens.output }, (_, i) => `${i === 0 ? '' : ' '}w${i}`);
  const limited = max !== null && max < outputTokens;
  return { tokens, stopReason: limited ? 'max_tokens' : 'end_turn', text };
}

/** Converse `usage`: `inputTokens` is uncached input; `cacheDetails` only when something was written. */
function converseUsage(t: Tokens): Json {
  const usage: Json = {
    inputTokens: t.input,
    outputTokens: t.output,
    totalTokens: t.input + t.output + t.cacheRead + t.cacheWrite5m + t.cacheWrite1h,
    cacheReadInputTokens: t.cacheRead,
    cacheWriteInputTokens: t.cacheWrite5m + t.cacheWrite1h,
  };
  const details: Json[] = [];
  if (t.cacheWrite1h > 0) details.push({ ttl: '1h', inputTokens: t.cacheWrite1h });
  if (t.cacheWrite5m > 0) details.push({ ttl: '5m', inputTokens: t.cacheWrite5m });
  if (details.length > 0) usage.cacheDetails = details;
  return usage;
}

/** Anthropic `usage`, as in a Messages response or `message_start` (`output` is the placeholder there). */
function anthropicUsage(t: Tokens, output: number): Json {
  return {
    input_tokens: t.input,
    cache_creation_input_tokens: t.cacheWrite5m + t.cacheWrite1h,
    cache_read_input_tokens: t.cacheRead,
    cache_creation: {
      ephemeral_5m_input_tokens: t.cacheWrite5m,
      ephemeral_1h_input_tokens: t.cacheWrite1h,
    },
    output_tokens: output,
  };
}

/** `us.anthropic.claude-sonnet-4-5-20250929-v1:0` (or an ARN to it) → `claude-sonnet-4-5-20250929`. */
function anthropicModelName(modelId: string): string {
  const i = modelId.lastIndexOf('anthropic.');
  const name = i < 0 ? modelId : modelId.slice(i + 'anthropic.'.length);
  return name.replace(/-v\d+(:\d+)?$/, '');
}

interface Reported {
  readonly latencyMs: number;
  readonly firstByteMs: number;
}

/** Converse's `serviceTier` of an answer: the tier that served the call, when the fake says one. */
const tierField = (served: string | null): Json =>
  served === null ? {} : { serviceTier: { type: served } };

function converseBody(p: Plan, r: Reported, served: string | null): Json {
  return {
    metrics: { latencyMs: r.latencyMs },
    output: { message: { content: [{ text: p.text.join('') }], role: 'assistant' } },
    stopReason: p.stopReason,
    usage: converseUsage(p.tokens),
    ...tierField(served),
  };
}

function converseStreamFrames(p: Plan, r: Reported, served: string | null): Uint8Array[] {
  const frames = [eventFrame('messageStart', { p: PADDING.slice(0, 5), role: 'assistant' })];
  p.text.forEach((t, i) => {
    frames.push(
      eventFrame('contentBlockDelta', {
        contentBlockIndex: 0,
        delta: { text: t },
        p: PADDING.slice(0, 1 + (i % 40)),
      }),
    );
  });
  frames.push(eventFrame('contentBlockStop', { contentBlockIndex: 0, p: PADDING.slice(0, 9) }));
  frames.push(eventFrame('messageStop', { p: PADDING.slice(0, 3), stopReason: p.stopReason }));
  frames.push(
    eventFrame('metadata', {
      metrics: { latencyMs: r.latencyMs },
      p: PADDING.slice(0, 20),
      usage: converseUsage(p.tokens),
      ...tierField(served),
    }),
  );
  return frames;
}

function invokeBody(p: Plan, modelId: string, requestId: string): Json {
  return {
    id: `msg_bdrk_${requestId.replaceAll('-', '').slice(0, 24)}`,
    type: 'message',
    role: 'assistant',
    model: anthropicModelName(modelId),
    content: [{ type: 'text', text: p.text.join('') }],
    stop_reason: p.stopReason,
    stop_sequence: null,
    usage: anthropicUsage(p.tokens, p.tokens.output),
  };
}

function invokeStreamFrames(
  p: Plan,
  r: Reported,
  modelId: string,
  requestId: string,
): Uint8Array[] {
  const t = p.tokens;
  const message = {
    ...invokeBody(p, modelId, requestId),
    content: [],
    stop_reason: null,
    usage: anthropicUsage(t, Math.min(1, t.output)),
  };
  const frames = [chunkFrame({ type: 'message_start', message })];
  frames.push(
    chunkFrame({
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    }),
  );
  p.text.forEach((text, i) => {
    frames.push(
      chunkFrame(
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } },
        1 + (i % 40),
      ),
    );
  });
  frames.push(chunkFrame({ type: 'content_block_stop', index: 0 }));
  frames.push(
    chunkFrame({
      type: 'message_delta',
      delta: { stop_reason: p.stopReason, stop_sequence: null },
      usage: { output_tokens: t.output },
    }),
  );
  frames.push(
    chunkFrame({
      type: 'message_stop',
      'amazon-bedrock-invocationMetrics': {
        inputTokenCount: t.input,
        outputTokenCount: t.output,
        invocationLatency: r.latencyMs,
        firstByteLatency: r.firstByteMs,
        cacheReadInputTokenCount: t.cacheRead,
        cacheWriteInputTokenCount: t.cacheWrite5m + t.cacheWrite1h,
      },
    }),
  );
  return frames;
}

const OPERATIONS: Readonly<Record<string, FakeOperation>> = {
  converse: 'Converse',
  'converse-stream': 'ConverseStream',
  invoke: 'InvokeModel',
  'invoke-with-response-stream': 'InvokeModelWithResponseStream',
};

/** `/model/{modelId}/{action}` with the model id percent-encoded as one segment. */
function route(rawPath: string): { operation: FakeOperation | null; modelId: string } {
  const path = rawPath.split('?')[0] ?? '';
  const m = /^\/model\/([^/]+)\/([a-z-]+)$/.exec(path);
  if (m === null) return { operation: null, modelId: '' };
  let modelId = m[1] ?? '';
  try {
    modelId = decodeURIComponent(modelId);
  } catch {
    // keep it encoded; Bedrock would refuse such a model id anyway
  }
  return { operation: OPERATIONS[m[2] ?? ''] ?? null, modelId };
}

const METADATA_CHARS = /^[a-zA-Z0-9\s:_@$#=/+,\-.]*$/;

/** Bedrock's request-metadata limits (bedrock.md §4.1): ≤ 16 pairs, key 1-256, value 0-256, a small charset. */
function metadataProblem(value: unknown): string | null {
  if (!isObj(value)) return 'requestMetadata must be a map of strings';
  const entries = Object.entries(value);
  if (entries.length > 16) return 'requestMetadata has more than 16 entries';
  for (const [k, v] of entries) {
    if (typeof v !== 'string') return `requestMetadata value of ${k} is not a string`;
    if (k.length < 1 || k.length > 256 || v.length > 256)
      return `requestMetadata entry ${k} is too long`;
    if (!METADATA_CHARS.test(k) || !METADATA_CHARS.test(v))
      return `requestMetadata entry ${k} has invalid characters`;
  }
  return null;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

class Refusal {
  constructor(
    readonly status: number,
    readonly exception: string,
    readonly message: string,
  ) {}
}

function flatHeaders(req: DualRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

function parseQuery(raw: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const v = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return query;
}

/** `20260102T030405Z` → Date. */
function parseAmzDate(s: string): Date {
  return new Date(
    `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`,
  );
}

const AUTH_RE =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

/** Verifies a SigV4 signature by recomputing it with @smithy/signature-v4 (the AWS SDK's own signer). */
async function verifySigV4(
  rec: RecordedRequest,
  raw: Buffer,
  options: FakeBedrockOptions,
  keys: readonly { readonly accessKeyId: string; readonly secretAccessKey: string }[],
): Promise<void> {
  const m = AUTH_RE.exec(rec.headers.authorization ?? '');
  if (m === null)
    throw new Refusal(403, 'IncompleteSignatureException', 'Authorization header is malformed.');
  const [, accessKeyId, , region, service, signedList, signature] = m as unknown as string[];
  const key = keys.find((k) => k.accessKeyId === accessKeyId);
  if (key === undefined) {
    throw new Refusal(
      403,
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  }
  if (region !== (options.region ?? 'us-east-1') || service !== 'bedrock') {
    throw new Refusal(
      403,
      'InvalidSignatureException',
      `Credential should be scoped to bedrock in ${options.region ?? 'us-east-1'}.`,
    );
  }
  const signed = new Set((signedList ?? '').split(';'));
  if (
    rec.headers['x-amzn-bedrock-request-metadata'] !== undefined &&
    !signed.has('x-amzn-bedrock-request-metadata')
  ) {
    throw new Refusal(
      403,
      'InvalidSignatureException',
      'X-Amzn-Bedrock-Request-Metadata must be a signed header.',
    );
  }
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value =
      name === 'host' ? (rec.headers.host ?? rec.headers[':authority']) : rec.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  const q = rec.rawPath.indexOf('?');
  const signer = new SignatureV4({
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    region: region ?? '',
    service: service ?? '',
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
  });
  const expected = await signer.sign(
    {
      method: rec.method,
      protocol: 'http:',
      hostname: headers.host ?? '',
      path: q < 0 ? rec.rawPath : rec.rawPath.slice(0, q),
      query: q < 0 ? {} : parseQuery(rec.rawPath.slice(q + 1)),
      headers,
      body: raw,
    },
    { signingDate: parseAmzDate(rec.headers['x-amz-date'] ?? ''), signableHeaders: signed },
  );
  const got = String(expected.headers.authorization ?? '');
  if (!got.endsWith(`Signature=${signature}`)) {
    throw new Refusal(
      403,
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided.',
    );
  }
}

async function authenticate(
  rec: Mutable<RecordedRequest>,
  raw: Buffer,
  options: FakeBedrockOptions,
): Promise<void> {
  const authorization = rec.headers.authorization ?? '';
  if (authorization.startsWith('Bearer ')) {
    rec.auth = 'bearer';
    const token = authorization.slice('Bearer '.length).trim();
    if (options.bearerTokens !== undefined && !options.bearerTokens.includes(token)) {
      throw new Refusal(403, 'UnrecognizedClientException', 'Invalid API key.');
    }
    return;
  }
  if (authorization.startsWith('AWS4-HMAC-SHA256 ')) {
    rec.auth = 'sigv4';
    if (options.credentials !== undefined)
      await verifySigV4(rec, raw, options, options.credentials);
    return;
  }
  if (options.requireAuth ?? true)
    throw new Refusal(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
}

function requestMetadataOf(rec: RecordedRequest, body: Json): Record<string, string> | null {
  const header = rec.headers['x-amzn-bedrock-request-metadata'];
  let value: unknown = rec.operation?.startsWith('Converse') ? body.requestMetadata : undefined;
  if (value === undefined && header !== undefined) {
    try {
      value = JSON.parse(header);
    } catch {
      throw new Refusal(
        400,
        'ValidationException',
        'X-Amzn-Bedrock-Request-Metadata is not valid JSON.',
      );
    }
  }
  if (value === undefined) return null;
  const problem = metadataProblem(value);
  if (problem !== null) throw new Refusal(400, 'ValidationException', problem);
  return value as Record<string, string>;
}

function validateBody(operation: FakeOperation, body: unknown): Json {
  if (!isObj(body)) {
    throw new Refusal(
      400,
      'ValidationException',
      'Malformed input request, please reformat your input and try again.',
    );
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw new Refusal(400, 'ValidationException', 'Malformed input request: messages is required.');
  }
  const converse = operation === 'Converse' || operation === 'ConverseStream';
  if (
    converse &&
    body.toolConfig === undefined &&
    body.messages.some(
      (m: unknown) =>
        isObj(m) &&
        Array.isArray(m.content) &&
        m.content.some((b: unknown) => isObj(b) && ('toolUse' in b || 'toolResult' in b)),
    )
  ) {
    // Bedrock's own words (its Converse validation; peers' issue trackers quote it).
    throw new Refusal(
      400,
      'ValidationException',
      'The toolConfig field must be defined when using toolUse and toolResult content blocks.',
    );
  }
  if (operation === 'InvokeModel' || operation === 'InvokeModelWithResponseStream') {
    if (typeof body.anthropic_version !== 'string') {
      throw new Refusal(
        400,
        'ValidationException',
        'Malformed input request: #: required key [anthropic_version] not found',
      );
    }
    if (typeof body.max_tokens !== 'number') {
      throw new Refusal(
        400,
        'ValidationException',
        'Malformed input request: #: required key [max_tokens] not found',
      );
    }
  }
  return body;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function sendError(res: DualResponse, rec: RecordedRequest, refusal: Refusal): void {
  rec.status = refusal.status;
  rec.error = refusal.exception;
  rec.outcome = 'error';
  const body = JSON.stringify({ message: refusal.message });
  res.writeHead(refusal.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': rec.requestId,
    'x-amzn-errortype': `${refusal.exception}${ERROR_TYPE_SUFFIX}`,
  });
  res.end(body);
}

function sendJson(
  res: DualResponse,
  rec: RecordedRequest,
  headers: Record<string, string | number>,
  body: Json,
): void {
  const text = JSON.stringify(body);
  rec.status = 200;
  rec.outcome = 'ok';
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': rec.requestId,
    ...headers,
  });
  res.end(text);
}

type StreamFault = Extract<Behaviour, { afterEvents: number }> | null;

async function sendStream(
  res: DualResponse,
  rec: RecordedRequest,
  frames: Uint8Array[],
  fault: StreamFault,
  eventDelayMs: number,
  extraHeaders: Record<string, string>,
): Promise<void> {
  rec.status = 200;
  const headers: Record<string, string> = {
    'content-type': 'application/vnd.amazon.eventstream',
    'x-amzn-requestid': rec.requestId,
    ...extraHeaders,
  };
  if (rec.operation === 'InvokeModelWithResponseStream')
    headers['x-amzn-bedrock-content-type'] = 'application/json';
  res.writeHead(200, headers);
  const limit = fault === null ? frames.length : Math.min(fault.afterEvents, frames.length);
  for (let i = 0; i < limit; i++) {
    if (res.destroyed) {
      rec.outcome = 'client-closed';
      return;
    }
    if (eventDelayMs > 0 && i > 0) await sleep(eventDelayMs);
    res.write(frames[i]);
    rec.eventsSent++;
  }
  if (fault?.kind === 'abort') {
    rec.outcome = 'aborted';
    // Let what was written reach the client first, then cut the stream (RST_STREAM / socket close).
    await new Promise<void>((resolve) => res.write(new Uint8Array(0), () => resolve()));
    await sleep(10);
    cut(res);
    return;
  }
  if (fault?.kind === 'stream-exception') {
    res.write(
      exceptionFrame(fault.exception, fault.message ?? `${fault.exception} (fake-bedrock)`),
    );
    rec.eventsSent++;
    rec.error = fault.exception;
    rec.outcome = 'error';
  } else if (fault?.kind === 'stream-error') {
    res.write(errorFrame(fault.code, fault.message ?? `${fault.code} (fake-bedrock)`));
    rec.eventsSent++;
    rec.error = fault.code;
    rec.outcome = 'error';
  } else {
    rec.outcome = 'ok';
  }
  res.end();
}

/** Cuts a response as a broken upstream does: RST_STREAM(INTERNAL_ERROR) under HTTP/2, a closed socket under 1.1. */
function cut(res: DualResponse): void {
  if (res instanceof Http2ServerResponse) res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  else res.destroy();
}

async function readBody(req: DualRequest): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startFakeBedrock(options: FakeBedrockOptions = {}): Promise<FakeBedrock> {
  const requests: RecordedRequest[] = [];
  const cache = new Set<string>();
  let rule: BehaviourRule | null = null;
  const reported: Reported = {
    latencyMs: options.latencyMs ?? 42,
    firstByteMs: options.firstByteMs ?? 17,
  };

  async function handle(req: DualRequest, res: DualResponse): Promise<void> {
    const raw = await readBody(req);
    const rawPath = req.url ?? '/';
    const { operation, modelId } = route(rawPath);
    let body: unknown;
    try {
      body = raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    const rec: Mutable<RecordedRequest> = {
      requestId: randomUUID(),
      operation,
      modelId,
      method: req.method ?? '',
      rawPath,
      httpVersion: req.httpVersion,
      headers: flatHeaders(req),
      body,
      bodyBytes: raw.length,
      requestMetadata: null,
      auth: 'none',
      tokens: null,
      status: 0,
      error: null,
      eventsSent: 0,
      outcome: 'pending',
    };
    if (options.record ?? true) requests.push(rec);
    res.on('close', () => {
      if (rec.outcome === 'pending') rec.outcome = 'client-closed';
    });
    try {
      await authenticate(rec, raw, options);
      if (operation === null || rec.method !== 'POST') {
        throw new Refusal(
          404,
          'UnknownOperationException',
          `fake-bedrock has no operation at ${rec.method} ${rawPath}`,
        );
      }
      const behaviour = rule?.(rec);
      if (behaviour?.kind === 'error') {
        const status =
          behaviour.status ?? EXCEPTION_STATUS[behaviour.exception as BedrockException] ?? 500;
        throw new Refusal(
          status,
          behaviour.exception,
          behaviour.message ?? `${behaviour.exception} (fake-bedrock)`,
        );
      }
      if (behaviour?.kind === 'hang') {
        rec.outcome = 'hung';
        return;
      }
      const json = validateBody(operation, body);
      rec.requestMetadata = requestMetadataOf(rec, json);
      const respond = behaviour?.kind === 'respond' ? behaviour : null;
      const p = plan(
        operation,
        modelId,
        json,
        raw.length,
        cache,
        respond?.outputTokens ?? options.outputTokens ?? 12,
        respond?.tokens,
      );
      if (respond?.delayMs !== undefined) await sleep(respond.delayMs);
      rec.tokens = p.tokens;
      // Bedrock says which tier served a call: Converse in its answer, InvokeModel in a header.
      const asked =
        operation === 'Converse' || operation === 'ConverseStream'
          ? isObj(json.serviceTier)
            ? json.serviceTier.type
            : undefined
          : rec.headers['x-amzn-bedrock-service-tier'];
      const served = respond?.servedTier ?? (typeof asked === 'string' ? asked : null);
      const tierHeader: Record<string, string> =
        served === null ? {} : { 'x-amzn-bedrock-service-tier': served };
      const fault: StreamFault =
        behaviour !== undefined && 'afterEvents' in behaviour ? behaviour : null;
      if (operation === 'Converse' || operation === 'InvokeModel') {
        if (fault?.kind === 'abort') {
          rec.outcome = 'aborted';
          cut(res);
          return;
        }
        if (operation === 'Converse') sendJson(res, rec, {}, converseBody(p, reported, served));
        else
          sendJson(
            res,
            rec,
            { ...invokeHeaders(p.tokens, reported), ...tierHeader },
            invokeBody(p, modelId, rec.requestId),
          );
        return;
      }
      const frames =
        operation === 'ConverseStream'
          ? converseStreamFrames(p, reported, served)
          : invokeStreamFrames(p, reported, modelId, rec.requestId);
      await sendStream(
        res,
        rec,
        frames,
        fault,
        respond?.eventDelayMs ?? 0,
        operation === 'ConverseStream' ? {} : tierHeader,
      );
    } catch (e: unknown) {
      if (e instanceof Refusal) sendError(res, rec, e);
      else sendError(res, rec, new Refusal(500, 'InternalServerException', String(e)));
    }
  }

  const server = createDualServer(
    (req, res) => {
      handle(req, res).catch(() => res.destroy());
    },
    options.tls === undefined ? {} : { tls: options.tls },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: options.tls === undefined ? `http://127.0.0.1:${port}` : `https://localhost:${port}`,
    port,
    requests,
    behave(next) {
      rule = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** InvokeModel's usage headers (Bedrock sends the cache pair for cache-capable models). */
function invokeHeaders(t: Tokens, r: Reported): Record<string, string> {
  return {
    'x-amzn-bedrock-invocation-latency': String(r.latencyMs),
    'x-amzn-bedrock-input-token-count': String(t.input),
    'x-amzn-bedrock-output-token-count': String(t.output),
    'x-amzn-bedrock-cache-read-input-token-count': String(t.cacheRead),
    'x-amzn-bedrock-cache-write-input-token-count': String(t.cacheWrite5m + t.cacheWrite1h),
  };
}
