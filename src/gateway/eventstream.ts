/**
 * Usage from a Bedrock `application/vnd.amazon.eventstream` response, read incrementally while the bytes are passed
 * on to the client. Frames (prelude: total length, headers length, prelude CRC; headers; payload; message CRC) may
 * span chunks; whole frames inside a chunk are read in place, and only a frame cut by a chunk boundary is copied.
 *
 * What is read: ConverseStream `metadata` (usage, metrics) and `messageStop`; InvokeModelWithResponseStream `chunk`
 * events, whose `{"bytes": base64}` payload is an Anthropic stream event (`message_start` usage, `message_delta`
 * usage and stop reason) or, for any provider, carries `amazon-bedrock-invocationMetrics` on the last chunk (the
 * authoritative counts); and exceptions (`:message-type` `exception` or `error`). Content deltas, the bulk of a
 * stream, are recognised from a header or a fixed base64 prefix and never decoded.
 */
import zlib from 'node:zlib';
import {
  anthropicOneHour,
  count,
  type GatewayUsage,
  splitCacheWrite,
  usageFromConverse,
} from './usage.ts';

export interface StreamError {
  /** `exception`: a modelled exception event; `error`: an `:error-code` error event. */
  readonly kind: 'exception' | 'error';
  /** The exception's SDK class name (`ThrottlingException`, `ModelStreamErrorException`…) or the error code. */
  readonly name: string;
  readonly message: string;
}

export interface StreamOutcome {
  /**
   * The best usage known. Complete streams: Bedrock's final counts. Cut streams: input (and cache) from
   * `message_start`, output from the last `message_delta` (else `message_start`'s placeholder); null when nothing
   * was seen yet (a ConverseStream reports usage only in its last event).
   */
  readonly usage: GatewayUsage | null;
  /** The stream reached its final usage event, with no exception, no damaged frame and no trailing partial frame. */
  readonly complete: boolean;
  /** Frames read. */
  readonly events: number;
  /** Content delta events seen (text, tool input, reasoning): a lower bound on output tokens of a cut stream. */
  readonly contentDeltas: number;
  readonly stopReason: string | null;
  readonly error: StreamError | null;
  /** Why reading stopped early: a bad prelude or CRC, or an impossible length. Bytes after it were not read. */
  readonly malformed: string | null;
}

export interface StreamUsageReaderOptions {
  /**
   * Check CRC32s: the prelude of every frame, and the whole message of every frame whose payload is read (usage,
   * stop and exception events; content deltas are only counted, so theirs is not computed). Default true.
   */
  readonly verifyCrc?: boolean;
  /**
   * Told every event message (its message CRC checked, content deltas included) and every exception, in stream
   * order, while usage is read: how a stream is translated (to OpenAI chunks) with its frames parsed once.
   */
  readonly listener?: StreamListener;
}

export interface StreamListener {
  /** An `event` message: its `:event-type` and its payload's text. */
  event(type: string, payload: string): void;
  /** An `exception` or `error` message, as `finish().error` reports it. */
  failure(error: StreamError): void;
}

/** Largest frame accepted: 16 MiB payload + 128 KiB headers (the event-stream limits) + prelude and CRC. */
const MAX_FRAME = 16 * 1024 * 1024 + 128 * 1024 + 16;
const MIN_FRAME = 16;

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const H_EVENT_TYPE = ascii(':event-type');
const H_MESSAGE_TYPE = ascii(':message-type');
const H_EXCEPTION_TYPE = ascii(':exception-type');
const H_ERROR_CODE = ascii(':error-code');
const H_ERROR_MESSAGE = ascii(':error-message');
const V_CHUNK = ascii('chunk');
const V_METADATA = ascii('metadata');
const V_CONTENT_BLOCK_DELTA = ascii('contentBlockDelta');
const V_MESSAGE_STOP = ascii('messageStop');
const V_EVENT = ascii('event');
const V_EXCEPTION = ascii('exception');
const V_ERROR = ascii('error');
/** `{"bytes":"` — how every InvokeModelWithResponseStream chunk payload starts. */
const BYTES_PREFIX = ascii('{"bytes":"');
/** base64 of `{"type":"content_block_delt` (27 bytes, so the encoding of the prefix is fixed). */
const B64_CONTENT_BLOCK_DELTA = ascii(
  Buffer.from('{"type":"content_block_delt', 'latin1').toString('base64'),
);

/** Value sizes of the fixed-size header types: true, false, byte, short, int, long, (6, 7 variable), timestamp, uuid. */
const FIXED_SIZES: readonly number[] = [0, 0, 1, 2, 4, 8, -1, -1, 8, 16];

const CRC_TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c >>> 0;
}

/** CRC32 of `b[start, end)` in JS: cheaper than a native call for the 8-byte prelude. */
function jsCrc32(b: Uint8Array, start: number, end: number): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) {
    crc = (CRC_TABLE[(crc ^ (b[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Native CRC32 (Node ≥ 20.15) for whole messages, else the JS one. */
const crc32: (data: Uint8Array) => number =
  typeof zlib.crc32 === 'function'
    ? (data) => zlib.crc32(data)
    : (data) => jsCrc32(data, 0, data.length);

function u32(b: Uint8Array, at: number): number {
  return (
    (((b[at] as number) << 24) |
      ((b[at + 1] as number) << 16) |
      ((b[at + 2] as number) << 8) |
      (b[at + 3] as number)) >>>
    0
  );
}

function bytesEqual(b: Uint8Array, at: number, len: number, expected: Uint8Array): boolean {
  if (len !== expected.length) return false;
  for (let i = 0; i < len; i++) if (b[at + i] !== expected[i]) return false;
  return true;
}

function text(b: Uint8Array, start: number, end: number): string {
  // A Buffer (every chunk from node:http) decodes a range in place; a view is made only for a plain Uint8Array.
  return Buffer.isBuffer(b)
    ? b.toString('utf8', start, end)
    : Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8');
}

function parseObject(source: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(source);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null; // a payload that is not JSON carries nothing we read
  }
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** `throttlingException` (the union member name on the wire) → `ThrottlingException` (the SDK class name). */
export function exceptionName(member: string): string {
  return member.length === 0
    ? 'UnknownException'
    : member.charAt(0).toUpperCase() + member.slice(1);
}

/** Where the interesting string headers of one frame are (offset and length), −1 when absent. */
interface FrameHeaders {
  eventType: number;
  eventTypeLen: number;
  messageType: number;
  messageTypeLen: number;
  exceptionType: number;
  exceptionTypeLen: number;
  errorCode: number;
  errorCodeLen: number;
  errorMessage: number;
  errorMessageLen: number;
}

/**
 * Reads usage from an event stream as its chunks pass by. Push every chunk in order, then call `finish()` once
 * when the stream ends, is cut, or the client goes away. Never throws on bad input: a damaged stream stops the
 * reading and is reported in `malformed`.
 */
export class StreamUsageReader {
  readonly #verifyCrc: boolean;
  readonly #listener: StreamListener | null;
  #pending: Uint8Array = Buffer.alloc(0);
  #pendingLen = 0;
  #malformed: string | null = null;
  #events = 0;
  #deltas = 0;
  #stopReason: string | null = null;
  #error: StreamError | null = null;
  /** ConverseStream `metadata` usage: final. */
  #converse: GatewayUsage | null = null;
  /** Anthropic `message_start.message.usage` and the latest `message_delta.usage`. */
  #start: Record<string, unknown> | null = null;
  #delta: Record<string, unknown> | null = null;
  #sawMessageStop = false;
  /** `amazon-bedrock-invocationMetrics`: final and authoritative. */
  #metrics: Record<string, unknown> | null = null;
  /** Where the frame being read starts and ends in the buffer passed to #dispatch. */
  #frameAt = 0;
  #frameEnd = 0;
  /** The current frame's message CRC was checked (and matched). */
  #frameChecked = false;
  readonly #h: FrameHeaders = {
    eventType: -1,
    eventTypeLen: 0,
    messageType: -1,
    messageTypeLen: 0,
    exceptionType: -1,
    exceptionTypeLen: 0,
    errorCode: -1,
    errorCodeLen: 0,
    errorMessage: -1,
    errorMessageLen: 0,
  };

  constructor(options: StreamUsageReaderOptions = {}) {
    this.#verifyCrc = options.verifyCrc ?? true;
    this.#listener = options.listener ?? null;
  }

  push(chunk: Uint8Array): void {
    if (this.#malformed !== null || chunk.length === 0) return;
    let off = 0;
    if (this.#pendingLen > 0) {
      off = this.#completePending(chunk);
      if (off < 0) return;
    }
    const len = chunk.length;
    while (len - off >= 4) {
      const total = u32(chunk, off);
      if (!this.#checkLength(total)) return;
      if (len - off < total) break;
      if (!this.#frame(chunk, off, total)) return;
      off += total;
    }
    if (off < len) this.#keep(chunk, off, len);
  }

  finish(): StreamOutcome {
    const usage = this.#usage();
    const finalSeen = this.#converse !== null || this.#metrics !== null || this.#sawMessageStop;
    return {
      usage,
      complete:
        finalSeen &&
        usage !== null &&
        this.#error === null &&
        this.#malformed === null &&
        this.#pendingLen === 0,
      events: this.#events,
      contentDeltas: this.#deltas,
      stopReason: this.#stopReason,
      error: this.#error,
      malformed: this.#malformed,
    };
  }

  #checkLength(total: number): boolean {
    if (total >= MIN_FRAME && total <= MAX_FRAME) return true;
    this.#malformed = `impossible frame length ${total}`;
    return false;
  }

  /** Appends a chunk's start to the frame cut by the previous chunk; returns where the chunk's own frames begin. */
  #completePending(chunk: Uint8Array): number {
    let off = 0;
    if (this.#pendingLen < 4) {
      off = Math.min(4 - this.#pendingLen, chunk.length);
      this.#append(chunk, 0, off);
      if (this.#pendingLen < 4) return -1;
    }
    const total = u32(this.#pending, 0);
    if (!this.#checkLength(total)) return -1;
    const take = Math.min(total - this.#pendingLen, chunk.length - off);
    this.#append(chunk, off, off + take);
    off += take;
    if (this.#pendingLen < total) return -1;
    this.#pendingLen = 0;
    return this.#frame(this.#pending, 0, total) ? off : -1;
  }

  #append(src: Uint8Array, start: number, end: number): void {
    const need = this.#pendingLen + (end - start);
    if (need > this.#pending.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.#pending.length * 2, 1024));
      grown.set(this.#pending.subarray(0, this.#pendingLen));
      this.#pending = grown;
    }
    this.#pending.set(src.subarray(start, end), this.#pendingLen);
    this.#pendingLen = need;
  }

  #keep(chunk: Uint8Array, start: number, end: number): void {
    this.#pendingLen = 0;
    this.#append(chunk, start, end);
  }

  /** Reads one whole frame at `b[off, off + total)`; false when it is damaged (reading stops). */
  #frame(b: Uint8Array, off: number, total: number): boolean {
    if (this.#verifyCrc && jsCrc32(b, off, off + 8) !== u32(b, off + 8)) {
      this.#malformed = 'prelude CRC mismatch';
      return false;
    }
    const headersLen = u32(b, off + 4);
    if (headersLen > total - MIN_FRAME) {
      this.#malformed = `headers length ${headersLen} exceeds frame length ${total}`;
      return false;
    }
    const payloadStart = off + 12 + headersLen;
    if (!this.#headers(b, off + 12, payloadStart)) {
      this.#malformed = 'malformed headers';
      return false;
    }
    this.#events++;
    this.#frameAt = off;
    this.#frameEnd = off + total;
    this.#frameChecked = false;
    this.#dispatch(b, payloadStart, off + total - 4);
    return this.#malformed === null;
  }

  /**
   * The message CRC of the current frame, checked only before its payload is read: frames that are counted but not
   * decoded (content deltas) skip it, which halves the reader's cost; framing itself rests on the prelude CRC.
   */
  #intact(b: Uint8Array): boolean {
    if (!this.#verifyCrc || this.#frameChecked) return true;
    const end = this.#frameEnd;
    this.#frameChecked = crc32(b.subarray(this.#frameAt, end - 4)) === u32(b, end - 4);
    if (!this.#frameChecked) this.#malformed = 'message CRC mismatch';
    return this.#frameChecked;
  }

  /** Finds the string headers we read; false when the header block does not parse. */
  #headers(b: Uint8Array, start: number, end: number): boolean {
    const h = this.#h;
    h.eventType = h.messageType = h.exceptionType = h.errorCode = h.errorMessage = -1;
    let p = start;
    while (p < end) {
      const nameLen = b[p] as number;
      const name = p + 1;
      p = name + nameLen;
      if (p >= end) return false;
      const type = b[p++] as number;
      let valueLen: number;
      if (type === 6 || type === 7) {
        if (p + 2 > end) return false;
        valueLen = ((b[p] as number) << 8) | (b[p + 1] as number);
        p += 2;
        if (type === 7) this.#noteHeader(b, name, nameLen, p, valueLen);
      } else {
        valueLen = FIXED_SIZES[type] ?? -1;
        if (valueLen < 0) return false;
      }
      p += valueLen;
    }
    return p === end;
  }

  #noteHeader(b: Uint8Array, name: number, nameLen: number, value: number, len: number): void {
    const h = this.#h;
    if (bytesEqual(b, name, nameLen, H_EVENT_TYPE)) {
      h.eventType = value;
      h.eventTypeLen = len;
    } else if (bytesEqual(b, name, nameLen, H_MESSAGE_TYPE)) {
      h.messageType = value;
      h.messageTypeLen = len;
    } else if (bytesEqual(b, name, nameLen, H_EXCEPTION_TYPE)) {
      h.exceptionType = value;
      h.exceptionTypeLen = len;
    } else if (bytesEqual(b, name, nameLen, H_ERROR_CODE)) {
      h.errorCode = value;
      h.errorCodeLen = len;
    } else if (bytesEqual(b, name, nameLen, H_ERROR_MESSAGE)) {
      h.errorMessage = value;
      h.errorMessageLen = len;
    }
  }

  #dispatch(b: Uint8Array, start: number, end: number): void {
    const h = this.#h;
    if (h.messageType >= 0 && !bytesEqual(b, h.messageType, h.messageTypeLen, V_EVENT)) {
      if (!this.#intact(b)) return;
      const error = this.#failure(b, start, end);
      if (error !== null) this.#listener?.failure(error);
      return;
    }
    if (h.eventType < 0) return;
    if (this.#listener !== null) {
      if (!this.#intact(b)) return;
      this.#listener.event(text(b, h.eventType, h.eventType + h.eventTypeLen), text(b, start, end));
    }
    if (bytesEqual(b, h.eventType, h.eventTypeLen, V_CHUNK)) this.#chunk(b, start, end);
    else if (bytesEqual(b, h.eventType, h.eventTypeLen, V_CONTENT_BLOCK_DELTA)) this.#deltas++;
    else if (bytesEqual(b, h.eventType, h.eventTypeLen, V_METADATA)) {
      if (this.#intact(b)) this.#converse = usageFromConverse(parseObject(text(b, start, end)));
    } else if (bytesEqual(b, h.eventType, h.eventTypeLen, V_MESSAGE_STOP)) {
      if (!this.#intact(b)) return;
      const reason = parseObject(text(b, start, end))?.stopReason;
      if (typeof reason === 'string') this.#stopReason = reason;
    }
  }

  /** Reads an exception or error message into `#error`; returns it, or null for another message type. */
  #failure(b: Uint8Array, start: number, end: number): StreamError | null {
    const h = this.#h;
    if (bytesEqual(b, h.messageType, h.messageTypeLen, V_EXCEPTION)) {
      const member =
        h.exceptionType >= 0 ? text(b, h.exceptionType, h.exceptionType + h.exceptionTypeLen) : '';
      const message = parseObject(text(b, start, end))?.message;
      this.#error = {
        kind: 'exception',
        name: exceptionName(member),
        message: typeof message === 'string' ? message : '',
      };
    } else if (bytesEqual(b, h.messageType, h.messageTypeLen, V_ERROR)) {
      this.#error = {
        kind: 'error',
        name:
          h.errorCode >= 0 ? text(b, h.errorCode, h.errorCode + h.errorCodeLen) : 'UnknownError',
        message:
          h.errorMessage >= 0 ? text(b, h.errorMessage, h.errorMessage + h.errorMessageLen) : '',
      };
    } else return null;
    return this.#error;
  }

  /** An InvokeModelWithResponseStream `chunk`: `{"bytes":"<base64 of the model's event JSON>", "p": padding}`. */
  #chunk(b: Uint8Array, start: number, end: number): void {
    let encoded: string | null = null;
    if (bytesEqual(b, start, Math.min(BYTES_PREFIX.length, end - start), BYTES_PREFIX)) {
      const from = start + BYTES_PREFIX.length;
      if (
        end - from >= B64_CONTENT_BLOCK_DELTA.length &&
        bytesEqual(b, from, B64_CONTENT_BLOCK_DELTA.length, B64_CONTENT_BLOCK_DELTA)
      ) {
        this.#deltas++;
        return;
      }
      if (!this.#intact(b)) return;
      let q = from;
      while (q < end && b[q] !== 0x22 && b[q] !== 0x5c) q++; // closing quote; a backslash means escapes
      if (q < end && b[q] === 0x22)
        encoded = Buffer.from(b.buffer, b.byteOffset + from, q - from).toString('latin1');
    }
    if (encoded === null) {
      if (!this.#intact(b)) return;
      const bytes = parseObject(text(b, start, end))?.bytes;
      if (typeof bytes !== 'string') return;
      encoded = bytes;
    }
    const event = parseObject(Buffer.from(encoded, 'base64').toString('utf8'));
    if (event !== null) this.#modelEvent(event);
  }

  #modelEvent(event: Record<string, unknown>): void {
    const metrics = event['amazon-bedrock-invocationMetrics'];
    if (typeof metrics === 'object' && metrics !== null)
      this.#metrics = metrics as Record<string, unknown>;
    switch (event.type) {
      case 'message_start': {
        const usage = field(event.message, 'usage');
        if (typeof usage === 'object' && usage !== null)
          this.#start = usage as Record<string, unknown>;
        return;
      }
      case 'message_delta': {
        const usage = event.usage;
        if (typeof usage === 'object' && usage !== null)
          this.#delta = usage as Record<string, unknown>;
        const reason = field(event.delta, 'stop_reason');
        if (typeof reason === 'string') this.#stopReason = reason;
        return;
      }
      case 'message_stop':
        this.#sawMessageStop = true;
        return;
      case 'content_block_delta':
        this.#deltas++;
        return;
      case 'error': {
        const error = event.error;
        const type = field(error, 'type');
        const message = field(error, 'message');
        this.#error = {
          kind: 'exception',
          name: typeof type === 'string' ? type : 'error',
          message: typeof message === 'string' ? message : '',
        };
        return;
      }
      default:
        if ('contentBlockDelta' in event) this.#deltas++;
        else {
          const reason = field(event.messageStop, 'stopReason');
          if (typeof reason === 'string') this.#stopReason = reason;
        }
    }
  }

  #usage(): GatewayUsage | null {
    if (this.#converse !== null) return this.#converse;
    const start = this.#start;
    const delta = this.#delta;
    const metrics = this.#metrics;
    if (start === null && delta === null && metrics === null) return null;
    // message_delta may repeat input and cache counts (cumulative); prefer it, then message_start.
    const pick = (key: string): number | null =>
      (delta === null ? null : count(delta[key])) ?? (start === null ? null : count(start[key]));
    const oneHour =
      (delta === null ? null : anthropicOneHour(delta)) ??
      (start === null ? null : anthropicOneHour(start));
    const input =
      (metrics === null ? null : count(metrics.inputTokenCount)) ?? pick('input_tokens');
    const output =
      (metrics === null ? null : count(metrics.outputTokenCount)) ?? pick('output_tokens');
    if (input === null && output === null) return null;
    const cacheRead =
      (metrics === null ? null : count(metrics.cacheReadInputTokenCount)) ??
      pick('cache_read_input_tokens') ??
      0;
    const cacheWrite =
      (metrics === null ? null : count(metrics.cacheWriteInputTokenCount)) ??
      pick('cache_creation_input_tokens') ??
      0;
    return {
      input: input ?? 0,
      output: output ?? 0,
      cacheRead,
      ...splitCacheWrite(cacheWrite, oneHour),
      latencyMs: metrics === null ? null : count(metrics.invocationLatency),
      firstByteMs: metrics === null ? null : count(metrics.firstByteLatency),
    };
  }
}
