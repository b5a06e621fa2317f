/**
 * The gateway benchmark's reference proxy: the least a metering proxy in Node can do, written the way
 * performance.md found cheapest. Bare node:http; the request body is buffered and forwarded with content-length on
 * a keep-alive agent; JSON answers are buffered, their usage read, and sent with `res.end(buffer)`; event streams
 * are written chunk by chunk with `for await … res.write(chunk)` while their usage is read from the frames. No
 * keys, budgets, signing or storage: usage is only tallied in memory. HTTP/1.1 only.
 */
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MinimalProxyStats {
  requests: number;
  /** Answers whose usage was read (JSON `usage`, stream `metadata` / invocation metrics). */
  metered: number;
  inputTokens: number;
  outputTokens: number;
  upstreamErrors: number;
}

export interface MinimalProxy {
  readonly url: string;
  readonly port: number;
  readonly stats: MinimalProxyStats;
  close(): Promise<void>;
}

interface Usage {
  input: number;
  output: number;
}

type Json = Record<string, unknown>;
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** Usage of a Converse answer (`usage.inputTokens`) or an Anthropic Messages answer (`usage.input_tokens`). */
function usageOfJson(body: Buffer): Usage | null {
  try {
    const u = (JSON.parse(body.toString('utf8')) as { usage?: Json }).usage;
    if (u === undefined) return null;
    return {
      input:
        num(u.inputTokens) +
        num(u.input_tokens) +
        num(u.cache_read_input_tokens) +
        num(u.cache_creation_input_tokens),
      output: num(u.outputTokens) + num(u.output_tokens),
    };
  } catch {
    return null;
  }
}

/**
 * Reads usage from an `application/vnd.amazon.eventstream` body as it flows: frames are
 * `[total u32][headers u32][prelude crc u32][headers][payload][crc u32]`; CRCs are not checked (the client does).
 * ConverseStream carries usage in the `metadata` event; InvokeModelWithResponseStream in the `message_stop` chunk's
 * `amazon-bedrock-invocationMetrics`.
 */
class FrameUsage {
  #pending: Buffer | null = null;
  usage: Usage | null = null;

  push(chunk: Buffer): void {
    let buf = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    while (buf.length >= 12) {
      const total = buf.readUInt32BE(0);
      if (buf.length < total) break;
      this.#frame(buf.subarray(0, total));
      buf = buf.subarray(total);
    }
    this.#pending = buf.length === 0 ? null : buf;
  }

  #frame(f: Buffer): void {
    const headersLen = f.readUInt32BE(4);
    const eventType = eventTypeOf(f.subarray(12, 12 + headersLen));
    if (eventType !== 'chunk' && eventType !== 'metadata') return;
    let payload: Json;
    try {
      payload = JSON.parse(f.toString('utf8', 12 + headersLen, f.length - 4)) as Json;
    } catch {
      return;
    }
    if (eventType === 'metadata') {
      const u = payload.usage as Json | undefined;
      if (u !== undefined) this.usage = { input: num(u.inputTokens), output: num(u.outputTokens) };
      return;
    }
    if (typeof payload.bytes !== 'string') return;
    const inner = Buffer.from(payload.bytes, 'base64').toString('utf8');
    // Only the last event carries the invocation metrics: skip parsing the deltas.
    if (!inner.includes('invocationMetrics')) return;
    try {
      const m = (JSON.parse(inner) as Json)['amazon-bedrock-invocationMetrics'] as Json | undefined;
      if (m !== undefined)
        this.usage = {
          input:
            num(m.inputTokenCount) +
            num(m.cacheReadInputTokenCount) +
            num(m.cacheWriteInputTokenCount),
          output: num(m.outputTokenCount),
        };
    } catch {
      // not JSON: no usage
    }
  }
}

/** The `:event-type` string header of a frame's header block. */
function eventTypeOf(h: Buffer): string | null {
  let at = 0;
  while (at < h.length) {
    const nameLen = h.readUInt8(at);
    const name = h.toString('latin1', at + 1, at + 1 + nameLen);
    at += 1 + nameLen;
    const type = h.readUInt8(at);
    at += 1;
    let size: number;
    switch (type) {
      case 0:
      case 1:
        size = 0;
        break;
      case 2:
        size = 1;
        break;
      case 3:
        size = 2;
        break;
      case 4:
        size = 4;
        break;
      case 5:
      case 8:
        size = 8;
        break;
      case 9:
        size = 16;
        break;
      default: {
        // 6 bytes, 7 string: u16 length + value
        const len = h.readUInt16BE(at);
        if (type === 7 && name === ':event-type') return h.toString('utf8', at + 2, at + 2 + len);
        size = 2 + len;
      }
    }
    at += size;
  }
  return null;
}

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date']);

function forwardable(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP.has(k) || k === 'host') continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

export async function startMinimalProxy(opts: {
  readonly upstream: string;
  readonly port?: number;
  readonly host?: string;
}): Promise<MinimalProxy> {
  const up = new URL(opts.upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });
  const stats: MinimalProxyStats = {
    requests: 0,
    metered: 0,
    inputTokens: 0,
    outputTokens: 0,
    upstreamErrors: 0,
  };
  const tally = (u: Usage | null) => {
    if (u === null) return;
    stats.metered++;
    stats.inputTokens += u.input;
    stats.outputTokens += u.output;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    stats.requests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    const headers = forwardable(req.headers);
    headers['content-length'] = String(body.length);
    const upRes = await new Promise<IncomingMessage>((resolve, reject) => {
      const r = request(
        {
          host: up.hostname,
          port: up.port,
          method: req.method,
          path: req.url,
          headers,
          agent,
        },
        resolve,
      );
      r.on('error', reject);
      r.end(body);
    });
    const status = upRes.statusCode ?? 502;
    const type = String(upRes.headers['content-type'] ?? '');
    if (status === 200 && type.startsWith('application/vnd.amazon.eventstream')) {
      res.writeHead(status, forwardable(upRes.headers));
      const usage = new FrameUsage();
      for await (const c of upRes) {
        const chunk = c as Buffer;
        usage.push(chunk);
        res.write(chunk);
      }
      res.end();
      tally(usage.usage);
      return;
    }
    const parts: Buffer[] = [];
    for await (const c of upRes) parts.push(c as Buffer);
    const answer = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    if (status === 200) tally(usageOfJson(answer));
    else stats.upstreamErrors++;
    const out = forwardable(upRes.headers);
    out['content-length'] = String(answer.length);
    res.writeHead(status, out);
    res.end(answer);
  };

  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    handle(req, res).catch(() => {
      stats.upstreamErrors++;
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end('{"message":"upstream unavailable"}');
      } else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
