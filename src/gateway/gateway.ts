/**
 * The gateway's request path: authenticate the virtual key, check model policy, rate limits and budgets (reserving
 * the call's worst-case cost), inject the caller's attribution as Bedrock request metadata, sign and forward, pass
 * the answer through unchanged while reading its usage, then settle the reservation and spool one usage record.
 * Written on bare node:http/http2 handlers: the hot path avoids framework layers (performance.md), buffers small
 * JSON answers and writes stream chunks as they arrive, never before.
 */
import { randomUUID } from 'node:crypto';
import {
  isAppError,
  pricedTier,
  type RawUsage,
  servedTier,
  type Tier,
  type Tokens,
} from '../core/index.ts';
import { authorised, handleAdmin } from './admin.ts';
import type { GatewayReservation } from './config.ts';
import { roleSessionName } from './credentials.ts';
import { StreamUsageReader } from './eventstream.ts';
import { converseMedia, type Governor, type Ticket, worstCaseTokens } from './governance/index.ts';
import {
  BodyTimeout,
  BodyTooLarge,
  bedrockError,
  drained,
  type GatewayRequest,
  type GatewayResponse,
  gone,
  readBody,
  safeHeaderValue,
  sendJson,
} from './http.ts';
import type { KeySyncStats } from './key-sync.ts';
import { type KeyRing, keyFromHeaders, type VirtualKey } from './keys.ts';
import {
  buildMetadata,
  METADATA_HEADER,
  parseMetadataHeader,
  withRequestMetadata,
} from './metadata.ts';
import {
  ConverseStreamToSse,
  chatToConverse,
  converseToChat,
  openAiError,
  TranslationError,
} from './openai.ts';
import { createCallMetrics, createProcessSampler, renderMetrics } from './prometheus.ts';
import {
  converseMaxOutput,
  isConverse,
  isStreaming,
  modelPath,
  nativeBodyFacts,
  type Operation,
  parseModelPath,
  tierOf,
} from './request-info.ts';
import type { SpoolStats } from './spool.ts';
import { type BedrockUpstream, Cancel, type UpstreamResponse } from './upstream.ts';
import {
  type GatewayUsage,
  SERVICE_TIER_HEADER,
  usageFromConverseJson,
  usageFromInvoke,
} from './usage.ts';

/** The `source` of the gateway's records (file paths and s3:// URIs are the other sources). */
export const GATEWAY_SOURCE = 'gateway';

export interface GatewayOptions {
  /** The AWS account the upstream bills, stored on each record (reconcile compares by account). */
  readonly accountId: string;
  readonly maxBodyBytes: number;
  /** Abort an upstream call with no answer (or, streaming, no new bytes) for this long. */
  readonly timeoutMs: number;
  /**
   * A streaming client that reads nothing of its answer for this long is cut (default 30 s, at most `timeoutMs`): it
   * would hold an upstream connection (of the pool's 256) for as long as it liked. Its stream is then read to its
   * end for the usage, as when a client leaves.
   */
  readonly writeStallMs?: number;
  /**
   * The worst case reserved before forwarding (governance/worst-case.ts): a Converse call without an output limit is
   * sent with `defaultMaxOutputTokens`, so the bound holds.
   */
  readonly reservation: GatewayReservation;
  /** Bearer token of the admin API; null disables it. */
  readonly adminToken: string | null;
  /** Bearer token of `GET /metrics` (the admin token is taken too); with neither, /metrics is disabled. */
  readonly metricsToken: string | null;
  /** Per-team IAM roles to assume, the session named after the caller's user. */
  readonly roles: Readonly<Record<string, string>>;
  /** Streams whose client left that are read to their end at once, for their exact usage (0: cut them). */
  readonly drainClosedStreams: number;
}

export interface GatewayDeps {
  readonly options: GatewayOptions;
  readonly keys: KeyRing;
  /** Persists keys the admin API creates, rotates or revokes. */
  readonly saveKeys: (keys: readonly VirtualKey[]) => Promise<void>;
  /**
   * Present when replicas share their keys: publishes keys the admin API changed (after `saveKeys`); false when
   * the change could not reach the shared copy yet (it is kept and sent again).
   */
  readonly shareKeys?: (keys: readonly VirtualKey[]) => Promise<boolean>;
  readonly governor: Governor;
  readonly upstream: BedrockUpstream;
  /** Takes one finished call (the spool: batched, durable) and returns its list price in pico-USD (null: unpriced). */
  readonly record: (raw: RawUsage) => bigint | null;
  /**
   * Resolves once the calls taken by `record` so far are durable (the spool writes those of one event-loop turn
   * together, at its end); a call is answered only after that. Rejects when they could not be written.
   */
  readonly recorded?: () => Promise<void>;
  /**
   * The most a call to `modelId` can cost now, in pico-USD: `inputTokens` at the dearest input-side rate (a 1-hour
   * cache write; tokenizers emit at most one token per byte of text, so body bytes bound them) plus `maxOut` output
   * tokens; null when the model has no price. Asked for every admitted call: keep it cheap.
   */
  readonly worstCaseOf: (
    modelId: string,
    tier: Tier,
    inputTokens: number,
    maxOut: number,
  ) => bigint | null;
  readonly now?: () => number;
  /** False while the store is down and the spool is configured to fail closed: calls get 503. */
  readonly canServe?: () => boolean;
  /**
   * Model ids `GET /v1/models` offers besides those served since start: the downgrade targets (`all`) and, by team
   * (`null`: keys without one), what the gateway served that team before (the ledger's recent gateway calls). A
   * caller sees its own team's and the downgrade targets, those its team's policy allows: never the models other
   * teams use.
   */
  readonly knownModels?: {
    readonly all: readonly string[];
    readonly byTeam: ReadonlyMap<string | null, readonly string[]>;
  };
  /** Health details for /healthz and /metrics: the spool, and the shared keys when replicas share them. */
  readonly health?: () => { readonly spool?: SpoolStats; readonly sharedKeys?: KeySyncStats };
}

export interface GatewayStats {
  requests: number;
  recorded: number;
  /** Calls recorded whose budget counters could not be settled (counter store unreachable). */
  settleFailures: number;
  rejected: Record<string, number>;
  upstreamErrors: number;
  /** Streams being read to their end after their client left (`drainClosedStreams`). */
  draining: number;
  /** Streams cut when their client left, the drain limit reached. */
  closedStreamsCut: number;
}

export interface Gateway {
  handle(req: GatewayRequest, res: GatewayResponse): void;
  stats(): GatewayStats;
  /**
   * Resolves when no request is in progress: after the server stops taking connections, the calls whose client
   * left still run (a JSON answer awaited, a stream read to its end) until Bedrock ends them or the upstream
   * timeout does, and their records are written then.
   */
  settled(): Promise<void>;
  /** Stops what the gateway runs beside requests (the event-loop monitor of /metrics). */
  close(): void;
}

/**
 * How often a stream still sending renews its reservation (`Governor.touch`): every 10 s, and at least twice per
 * upstream timeout (reservations expire after the timeout plus a minute unless configured otherwise).
 */
const TOUCH_EVERY_MS = 10_000;
const WRITE_STALL_MS = 30_000;
const NO_USAGE: GatewayUsage = {
  input: 0,
  output: 0,
  cacheRead: 0,
  cacheWrite5m: 0,
  cacheWrite1h: 0,
  cacheTtlKnown: true,
  latencyMs: null,
  firstByteMs: null,
};
/** Response headers that describe the connection, not the answer (and are illegal over HTTP/2). */
const HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'date',
  'server',
  'proxy-connection',
  'upgrade',
]);

interface Call {
  readonly key: VirtualKey;
  readonly op: Operation;
  modelId: string;
  readonly requestedModel: string;
  readonly started: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** The tier asked for; then the one Bedrock's answer headers say served the call, when they do. */
  tier: Tier;
  readonly ticket: Ticket;
  readonly openai: { stream: boolean; includeUsage: boolean } | null;
}

/** The OpenAI-compatible routes: chat completions and the model list, with or without the SDK's `/v1`. */
const OPENAI_CHAT_PATHS = new Set(['/v1/chat/completions', '/chat/completions']);
const OPENAI_MODELS_PATH = /^(?:\/v1)?\/models(?:\/([^/]+))?$/;
const isOpenAiPath = (path: string): boolean =>
  OPENAI_CHAT_PATHS.has(path) || OPENAI_MODELS_PATH.test(path);
const pathOf = (req: GatewayRequest): string => {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
};

export function createGateway(deps: GatewayDeps): Gateway {
  const now = deps.now ?? Date.now;
  const { options } = deps;
  const calls = createCallMetrics();
  /** Models that served a call since start (billed, no error), by the key's team: what /v1/models adds. */
  const served = new Map<string | null, Set<string>>();
  let sampler: ReturnType<typeof createProcessSampler> | null = null;
  const stats: GatewayStats = {
    requests: 0,
    recorded: 0,
    settleFailures: 0,
    rejected: {},
    upstreamErrors: 0,
    draining: 0,
    closedStreamsCut: 0,
  };
  const reject = (
    res: GatewayResponse,
    openai: boolean,
    status: number,
    type: string,
    message: string,
    headers: Record<string, string> = {},
    extra: Record<string, unknown> = {},
  ) => {
    stats.rejected[type] = (stats.rejected[type] ?? 0) + 1;
    if (openai) sendJson(res, status, openAiError(status, message, type), headers);
    else bedrockError(res, status, type, message, headers, extra);
  };

  const authenticate = (
    req: GatewayRequest,
    res: GatewayResponse,
    openai: boolean,
  ): VirtualKey | null => {
    const check = deps.keys.check(
      keyFromHeaders(req.headers.authorization, req.headers['x-api-key']),
      now(),
    );
    if (check.ok) return check.key;
    const why = {
      missing:
        'no virtual key: send it as Authorization: Bearer <key> (AWS_BEARER_TOKEN_BEDROCK) or x-api-key',
      malformed: 'the virtual key is not a tokenledger key (tlk_…)',
      unknown: 'unknown virtual key',
      expired: 'the virtual key has expired',
      revoked: 'the virtual key was revoked',
    }[check.reason];
    const status = check.reason === 'expired' || check.reason === 'revoked' ? 403 : 401;
    reject(
      res,
      openai,
      status,
      status === 401 ? 'UnrecognizedClientException' : 'AccessDeniedException',
      why,
    );
    return null;
  };

  /**
   * Finishes a call: prices the tokens Bedrock billed, settles the reservation, spools the record. A 200 answer whose
   * usage could not be read is recorded as `UsageUnreadable`, never silently as a free call. `complete` says whether
   * `read` is all Bedrock billed; when it is not (a stream cut before its usage, an answer that never came whole),
   * the ledger gets what was read and the budgets the call's whole reservation (`Governor.keep`).
   */
  const finish = async (
    call: Call,
    requestId: string | null,
    read: GatewayUsage | null,
    errorCode: string | null,
    complete = true,
  ): Promise<void> => {
    const usage = read ?? NO_USAGE;
    if (read === null && errorCode === null) {
      errorCode = 'UsageUnreadable';
      complete = false;
    }
    const tokens: Tokens = {
      input: usage.input,
      output: usage.output,
      cacheRead: usage.cacheRead,
      cacheWrite5m: usage.cacheWrite5m,
      cacheWrite1h: usage.cacheWrite1h,
    };
    const raw: RawUsage = {
      requestId: requestId ?? `gw-${randomUUID()}`,
      occurredAt: call.started,
      accountId: options.accountId,
      region: deps.upstream.region,
      inferenceRegion: null,
      operation: call.op,
      modelId: call.modelId,
      identityArn: sessionArnOf(call.key, options.roles),
      requestMetadata: call.metadata,
      tokens,
      cacheTtlKnown: usage.cacheTtlKnown,
      tier: pricedTier(call.tier, usage.tier),
      latencyMs: usage.latencyMs ?? now() - call.started,
      firstByteMs: usage.firstByteMs,
      errorCode,
      source: { uri: GATEWAY_SOURCE, line: 0 },
    };
    const billed =
      tokens.input + tokens.output + tokens.cacheRead + tokens.cacheWrite5m + tokens.cacheWrite1h;
    // A call refused before any token was billed (e.g. a 400) is still a call: it is recorded as an error. It is
    // recorded first, whatever happens to the counters.
    const listPrice = deps.record(raw);
    // The spool's write of this record: asked for now, while its group is the one open (the spool writes each
    // event-loop turn's records together), not after the settlement's await, when it may be a later turn's.
    const written = deps.recorded?.();
    stats.recorded++;
    const cost = billed === 0 ? 0n : listPrice;
    if (billed > 0 && errorCode === null) {
      const models = served.get(call.key.team);
      if (models === undefined) served.set(call.key.team, new Set([call.modelId]));
      else models.add(call.modelId);
    }
    calls.observe({
      team: call.key.team,
      model: call.modelId,
      operation: call.op,
      error: errorCode,
      tokens,
      costPicos: cost,
      latencyMs: now() - call.started,
    });
    try {
      if (!complete) await deps.governor.keep(call.ticket, cost ?? 0n, billed);
      else if (billed === 0) await deps.governor.release(call.ticket);
      else await deps.governor.settle(call.ticket, cost ?? 0n, billed);
    } catch {
      // The counters are unreachable (a shared Redis down): the spend is in the ledger (budgets start from it when
      // a gateway starts) but not in the counters; the reservation stays held there until the store releases it
      // after the expiry bound (`reservation.expireAfterMs`). Counted (gateway stats, /healthz) so that it is seen.
      stats.settleFailures++;
    }
    await written;
  };

  const forwardHeaders = (req: GatewayRequest, call: Call): Record<string, string> => {
    const h: Record<string, string> = {
      'content-type': 'application/json',
      accept: isStreaming(call.op) ? 'application/vnd.amazon.eventstream' : 'application/json',
    };
    const headers = req.headers;
    for (const name in headers) {
      if (
        (name.startsWith('x-amzn-bedrock-') && name !== METADATA_HEADER) ||
        name.startsWith('anthropic-')
      ) {
        const value = headers[name];
        const v = safeHeaderValue(Array.isArray(value) ? value.join(',') : value);
        if (v !== null) h[name] = v;
      }
    }
    if (!isConverse(call.op)) h[METADATA_HEADER] = JSON.stringify(call.metadata);
    return h;
  };

  /**
   * The answer's headers as a flat name/value list (what writeHead takes fastest, both protocols): Bedrock's own but
   * the connection's, then the gateway's (budget headers), then `content-length` when given.
   */
  const responseHeaders = (
    up: UpstreamResponse,
    extra: Record<string, string>,
    contentLength: number | null,
  ): string[] => {
    const h: string[] = [];
    const headers = up.headers;
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined || HOP.has(name) || Object.hasOwn(extra, name)) continue;
      h.push(name, Array.isArray(value) ? value.join(', ') : value);
    }
    for (const name in extra) h.push(name, extra[name] as string);
    if (contentLength !== null) h.push('content-length', String(contentLength));
    return h;
  };

  /** Forwards one admitted call and answers the client; resolves when the call is recorded. */
  const forward = async (
    req: GatewayRequest,
    res: GatewayResponse,
    call: Call,
    body: Buffer,
    extraHeaders: Record<string, string>,
  ): Promise<void> => {
    const cancel = new Cancel();
    /** Why the upstream call was aborted, if it was. */
    let aborted: 'GatewayTimeout' | 'ClientClosedRequest' | null = null;
    const abort = (why: 'GatewayTimeout' | 'ClientClosedRequest') => {
      aborted ??= why;
      cancel.cancel(why);
    };
    const onTimeout = () => abort('GatewayTimeout');
    const timer = setTimeout(onTimeout, options.timeoutMs);
    /** The client went away before its answer was written. */
    let clientGone = false;
    /** This call holds one of the `drainClosedStreams` places. */
    let draining = false;
    /** The call was recorded and answered: a close after it is the end of a response, not a client leaving. */
    let finished = false;
    const onClose = (): void => {
      if (res.writableEnded || finished || clientGone) return;
      clientGone = true;
      // A JSON answer is awaited still: Bedrock bills it whole whatever the client does, and its usage is only in
      // the answer. So is a stream, read to its end and passed on to no one: Bedrock bills it in full too, and a
      // ConverseStream states its usage only in its last event. Past the drain limit a stream is cut, and the
      // budget keeps its reservation (what it billed is unknown).
      if (!isStreaming(call.op)) return;
      if (stats.draining < options.drainClosedStreams) {
        draining = true;
        stats.draining++;
      } else {
        stats.closedStreamsCut++;
        abort('ClientClosedRequest');
      }
    };
    res.on('close', onClose);
    const stallMs = Math.min(options.writeStallMs ?? WRITE_STALL_MS, options.timeoutMs);
    // A client that left while the call was admitted (a Redis round trip): its close came before the listener.
    if (gone(res)) onClose();
    try {
      let up: UpstreamResponse;
      try {
        const key = call.key;
        const roleArn = key.team === null ? undefined : options.roles[key.team];
        up = await deps.upstream.send({
          method: 'POST',
          path: modelPath(call.modelId, call.op),
          headers: forwardHeaders(req, call),
          body,
          cancel,
          ...(roleArn === undefined
            ? {}
            : { role: { arn: roleArn, sessionName: roleSessionNameOf(key) } }),
        });
      } catch (e) {
        clearTimeout(timer);
        stats.upstreamErrors++;
        const timedOut = aborted === 'GatewayTimeout';
        const code = aborted ?? 'UpstreamUnavailable';
        // Cut after it was sent (a timeout, a client gone mid-stream), the call may have been billed; a call that
        // never reached Bedrock (no connection) billed nothing.
        await finish(call, null, NO_USAGE, code, aborted === null);
        if (call.openai !== null)
          sendJson(
            res,
            timedOut ? 504 : 502,
            openAiError(timedOut ? 504 : 502, `upstream: ${(e as Error).message}`, code),
          );
        else bedrockError(res, timedOut ? 504 : 502, code, `upstream: ${(e as Error).message}`);
        return;
      }
      const requestId = (up.headers['x-amzn-requestid'] as string | undefined) ?? null;
      const headerTier = up.headers[SERVICE_TIER_HEADER];
      if (headerTier !== undefined) call.tier = pricedTier(call.tier, servedTier(headerTier));
      const errorType = up.status >= 400 ? errorTypeOf(up) : null;
      if (errorType !== null) stats.upstreamErrors++;
      try {
        if (!isStreaming(call.op) || up.status !== 200) {
          let answer: Buffer;
          try {
            answer = await up.body.all();
          } catch (e) {
            // Aborted (client gone or timeout) or reset before the whole answer came: Bedrock's usage is unknown.
            const code = aborted ?? 'UpstreamReadError';
            await finish(call, requestId, NO_USAGE, code, false);
            if (res.headersSent) return;
            const status = aborted === 'GatewayTimeout' ? 504 : 502;
            const message = `upstream: ${(e as Error).message}`;
            if (call.openai !== null) sendJson(res, status, openAiError(status, message, code));
            else bedrockError(res, status, code, message);
            return;
          }
          clearTimeout(timer);
          const usage =
            up.status !== 200
              ? NO_USAGE
              : isConverse(call.op)
                ? usageFromConverseJson(answer)
                : usageFromInvoke(answer, up.headers);
          await finish(
            call,
            requestId,
            usage,
            errorType ?? (clientGone ? 'ClientClosedRequest' : null),
          );
          if (clientGone) return;
          if (call.openai !== null) {
            if (up.status === 200)
              sendJson(
                res,
                200,
                converseToChat(
                  answer,
                  call.modelId,
                  requestId ?? '',
                  Math.floor(call.started / 1000),
                ),
                {
                  ...extraHeaders,
                  'x-request-id': requestId ?? '',
                },
              );
            else sendJson(res, up.status, openAiError(up.status, messageOf(answer), errorType));
            return;
          }
          res.writeHead(up.status, responseHeaders(up, extraHeaders, answer.length));
          res.end(answer);
          return;
        }
        // Streaming: bytes go to the client as they come (or their translation); usage is read on the way.
        const sse =
          call.openai === null
            ? null
            : new ConverseStreamToSse(
                call.modelId,
                requestId ?? '',
                Math.floor(call.started / 1000),
                call.openai.includeUsage,
              );
        const reader = sse?.reader ?? new StreamUsageReader();
        res.writeHead(
          200,
          sse === null
            ? responseHeaders(up, extraHeaders, null)
            : {
                'content-type': 'text/event-stream',
                'cache-control': 'no-cache',
                'x-request-id': requestId ?? '',
                ...extraHeaders,
              },
        );
        let firstByte: number | null = null;
        let broken = false;
        try {
          let touched = call.started;
          const touchEvery = Math.min(TOUCH_EVERY_MS, options.timeoutMs / 2);
          await up.body.each((chunk) => {
            timer.refresh();
            const at = now();
            firstByte ??= at - call.started;
            // A stream still sending keeps its reservation (the timeout is an idle timeout; a stream may outlast it).
            if (at - touched >= touchEvery) {
              deps.governor.touch(call.ticket);
              touched = at;
            }
            if (sse === null) reader.push(chunk);
            // The translation is taken even when no one reads it: it is built as the reader reads.
            const text = sse === null ? null : sse.push(chunk);
            if (clientGone) return undefined;
            const ok = res.write(text ?? chunk);
            // A client gone already (its close came before this write) would never drain: the stream is read on.
            return ok || res.writableEnded || clientGone ? undefined : drained(res, stallMs);
          });
        } catch {
          // The upstream stream broke or was aborted (client gone, idle timeout): what was billed is recorded below,
          // and the client sees a broken stream too, never a clean end of a truncated answer.
          broken = true;
        }
        clearTimeout(timer);
        const outcome = reader.finish();
        const code =
          outcome.error?.name ??
          (outcome.complete
            ? clientGone
              ? 'ClientClosedRequest'
              : null
            : (aborted ?? 'StreamInterrupted'));
        const usage =
          outcome.usage === null
            ? null
            : { ...outcome.usage, firstByteMs: outcome.usage.firstByteMs ?? firstByte };
        // A stream Bedrock ended with an exception before any content (a throttle, say) generated nothing: what was
        // read is its bill. Any other stream that did not reach its usage event may have billed more than was read.
        const billRead =
          outcome.complete || (outcome.error !== null && outcome.contentDeltas === 0);
        await finish(call, requestId, usage, code, billRead);
        if (res.writableEnded) return;
        // A stream that ended without its final event and without an exception event was cut upstream.
        if (!outcome.complete && outcome.error === null) broken = true;
        if (broken && sse === null) res.destroy(new Error(`upstream stream interrupted (${code})`));
        else if (broken && sse !== null)
          res.end(`data: ${openAiError(502, `upstream stream interrupted (${code})`, code)}\n\n`);
        // After an exception event the OpenAI stream ends with that error: no usage chunk, no [DONE] (a clean end).
        else res.end(sse === null || outcome.error !== null ? undefined : sse.end());
      } finally {
        clearTimeout(timer);
        // Only an answer left unread needs the upstream request torn down.
        if (!up.body.ended) cancel.cancel('answer left unread');
      }
    } finally {
      finished = true;
      if (draining) stats.draining--;
    }
  };

  /**
   * A call's body; null when it was answered instead: too large (413), or not all come within the body timeout (the
   * request is destroyed then: no answer can go).
   */
  const callBody = async (
    req: GatewayRequest,
    res: GatewayResponse,
    openai: boolean,
  ): Promise<Buffer | null> => {
    try {
      return await readBody(req, options.maxBodyBytes);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        reject(
          res,
          openai,
          413,
          openai ? 'request_too_large' : 'ValidationException',
          `the request body exceeds ${options.maxBodyBytes} bytes`,
        );
        return null;
      }
      if (e instanceof BodyTimeout) {
        stats.rejected.RequestTimeout = (stats.rejected.RequestTimeout ?? 0) + 1;
        return null;
      }
      throw e;
    }
  };

  const modelCall = async (
    req: GatewayRequest,
    res: GatewayResponse,
    op: Operation,
    requestedModel: string,
    openaiBody: ReturnType<typeof chatToConverse> | null,
    rawBody: Buffer | null,
    /** The caller, when already authenticated (the OpenAI route: before its body is read). */
    authed: VirtualKey | null = null,
  ): Promise<void> => {
    const openai = openaiBody !== null;
    const started = now();
    const key = authed ?? authenticate(req, res, openai);
    if (key === null) return;
    if (deps.canServe !== undefined && !deps.canServe())
      return reject(
        res,
        openai,
        503,
        'ServiceUnavailableException',
        'the ledger is unavailable and the gateway is configured to fail closed',
        { 'retry-after': '5' },
      );
    let body = rawBody ?? (await callBody(req, res, openai));
    if (body === null) return;
    let converse: Record<string, unknown> | null = openaiBody?.body ?? null;
    if (converse === null && isConverse(op)) {
      try {
        const parsed: unknown = JSON.parse(body.toString('utf8'));
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
          throw new Error('not an object');
        converse = parsed as Record<string, unknown>;
      } catch (e) {
        return reject(
          res,
          openai,
          400,
          'ValidationException',
          `malformed JSON body: ${(e as Error).message}`,
        );
      }
    }
    const given = converse?.requestMetadata;
    if (
      given !== undefined &&
      (given === null || typeof given !== 'object' || Array.isArray(given))
    )
      return reject(
        res,
        openai,
        400,
        'ValidationException',
        'requestMetadata must be an object of string values',
      );
    const callerMetadata =
      converse !== null
        ? ((given as Record<string, unknown> | undefined) ?? null)
        : parseMetadataHeader(req.headers[METADATA_HEADER] as string | undefined);
    const session = safeHeaderValue(req.headers['x-claude-code-session-id'], 256);
    const metadata = buildMetadata(
      key,
      openaiBody?.user === null || openaiBody === null
        ? callerMetadata
        : { ...callerMetadata, openai_user: openaiBody.user },
      session,
    );
    const facts =
      converse !== null
        ? { media: converseMedia(converse), maxOutput: converseMaxOutput(converse) }
        : nativeBodyFacts(body);
    const bound = worstCaseTokens(
      {
        bodyBytes: body.length,
        imageBlocks: facts.media.images,
        otherMediaBlocks: facts.media.other,
        maxOutputTokens: facts.maxOutput,
      },
      options.reservation,
    );
    if (bound.capOutputTo !== null && converse !== null)
      converse.inferenceConfig = {
        ...(converse.inferenceConfig as object | undefined),
        maxTokens: bound.capOutputTo,
      };
    if (converse !== null) {
      // The body as it is forwarded, made before the call is admitted: a body that parses but cannot be written
      // again (nested past the stack's depth) is refused here, with nothing reserved yet.
      try {
        // The caller's bytes can be kept (the metadata written in) unless the body changed: an output cap was set.
        if (openaiBody === null && bound.capOutputTo === null)
          body = withRequestMetadata(body, converse, metadata);
        else {
          converse.requestMetadata = metadata;
          body = Buffer.from(JSON.stringify(converse));
        }
      } catch (e) {
        return reject(
          res,
          openai,
          400,
          'ValidationException',
          `the request body cannot be forwarded: ${(e as Error).message}`,
        );
      }
    }
    const tier =
      converse !== null
        ? tierOf(
            (converse.serviceTier as { type?: unknown } | undefined)?.type,
            (converse.performanceConfig as { latency?: unknown } | undefined)?.latency,
          )
        : tierOf(
            req.headers['x-amzn-bedrock-service-tier'],
            req.headers['x-amzn-bedrock-performanceconfig-latency'],
          );
    let admission: Awaited<ReturnType<Governor['admit']>>;
    try {
      admission = await deps.governor.admit({
        key: key.id,
        team: key.team,
        user: key.user,
        feature: key.feature,
        project: key.project,
        model: requestedModel,
        worstCase: (model: string) => deps.worstCaseOf(model, tier, bound.input, bound.output),
        tokensEstimate: bound.input + bound.output,
        now: started,
      });
    } catch {
      // The counters are unreachable (a shared Redis down): no budget can be checked, so no call is admitted. The
      // cause (an internal address, say) is the operator's, in the gateway's log, not the caller's.
      return reject(
        res,
        openai,
        503,
        'ServiceUnavailableException',
        'budget counters unavailable',
        { 'retry-after': '5' },
      );
    }
    if (!admission.ok) {
      const headers: Record<string, string> =
        admission.retryAfterSec === undefined
          ? {}
          : { 'retry-after': String(admission.retryAfterSec) };
      // The AWS SDK names the exception after x-amzn-ErrorType; our own code travels in the body.
      const type =
        admission.status === 429
          ? 'ThrottlingException'
          : admission.status === 400
            ? 'ValidationException'
            : 'AccessDeniedException';
      return reject(
        res,
        openai,
        admission.status,
        openai ? admission.code : type,
        admission.message,
        headers,
        {
          code: admission.code,
          ...admission.details,
        },
      );
    }
    const modelId = admission.downgradeTo ?? requestedModel;
    const call: Call = {
      key,
      op,
      modelId,
      requestedModel,
      started,
      metadata,
      tier,
      ticket: admission.ticket,
      openai:
        openaiBody === null
          ? null
          : { stream: openaiBody.stream, includeUsage: openaiBody.includeUsage },
    };
    await forward(req, res, call, body, admission.headers);
  };

  /** `GET /metrics` for Prometheus, behind the metrics (or admin) token: budgets and team names are not public. */
  const metrics = async (req: GatewayRequest, res: GatewayResponse): Promise<void> => {
    const tokens = [deps.options.metricsToken, deps.options.adminToken].filter(
      (t): t is string => t !== null && t !== '',
    );
    if (tokens.length === 0)
      return bedrockError(
        res,
        404,
        'UnknownOperationException',
        'metrics are disabled (set TOKENLEDGER_METRICS_TOKEN, or TOKENLEDGER_ADMIN_TOKEN)',
      );
    if (!tokens.some((t) => authorised(req, t)))
      return bedrockError(res, 401, 'UnrecognizedClientException', 'metrics token required');
    // The event-loop delay is measured from the first scrape on.
    sampler ??= createProcessSampler();
    const health = deps.health?.() ?? {};
    const text = renderMetrics({
      ...stats,
      calls,
      governor: await deps.governor.status(now()),
      spool: health.spool,
      sharedKeys: health.sharedKeys,
      process: sampler.sample(),
    });
    res.writeHead(200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
    });
    res.end(text);
  };

  /**
   * OpenAI's `GET /v1/models` (and `/v1/models/{id}`), for clients that list models before they call one: the
   * models the key's team was served (`knownModels.byTeam`, and since start) and the downgrade targets, those the
   * team may call. Any other Bedrock model id still works in a call; this is only the menu.
   */
  const models = (req: GatewayRequest, res: GatewayResponse, id: string | null): void => {
    const key = authenticate(req, res, true);
    if (key === null) return;
    const known = deps.knownModels;
    const ids = new Set([
      ...(known?.all ?? []),
      ...(known?.byTeam.get(key.team) ?? []),
      ...(served.get(key.team) ?? []),
    ]);
    const allowed = [...ids].filter((m) => deps.governor.allows(key.team, m)).sort();
    const model = (m: string) => ({
      id: m,
      object: 'model',
      created: 0,
      owned_by: 'amazon-bedrock',
    });
    if (id === null)
      sendJson(res, 200, JSON.stringify({ object: 'list', data: allowed.map(model) }));
    else if (allowed.includes(id)) sendJson(res, 200, JSON.stringify(model(id)));
    else
      reject(
        res,
        true,
        404,
        'model_not_found',
        `the model ${JSON.stringify(id.slice(0, 200))} is not listed here`,
      );
  };

  const route = async (req: GatewayRequest, res: GatewayResponse): Promise<void> => {
    const path = pathOf(req);
    if (req.method === 'POST') {
      const model = parseModelPath(path);
      if (model !== null) {
        if ('bad' in model) return reject(res, false, 400, 'ValidationException', model.bad);
        return await modelCall(req, res, model.op, model.modelId, null, null);
      }
      if (OPENAI_CHAT_PATHS.has(path)) {
        // The caller first: a body is only read (and parsed) for a key.
        const key = authenticate(req, res, true);
        if (key === null) return;
        const body = await callBody(req, res, true);
        if (body === null) return;
        let chat: ReturnType<typeof chatToConverse>;
        try {
          chat = chatToConverse(JSON.parse(body.toString('utf8')));
        } catch (e) {
          const msg =
            e instanceof TranslationError
              ? e.message
              : `malformed JSON body: ${(e as Error).message}`;
          return reject(res, true, 400, 'invalid_request_error', msg);
        }
        const op: Operation = chat.stream ? 'ConverseStream' : 'Converse';
        return await modelCall(req, res, op, chat.modelId, chat, body, key);
      }
    }
    if (path.startsWith('/admin/')) return await handleAdmin(req, res, path, deps, now);
    if (req.method === 'GET' && path === '/healthz')
      return sendJson(
        res,
        200,
        JSON.stringify({ status: 'ok', ...stats, ...(deps.health?.() ?? {}) }),
      );
    if (req.method === 'GET' && path === '/metrics') return await metrics(req, res);
    if (req.method === 'GET') {
      const m = OPENAI_MODELS_PATH.exec(path);
      if (m !== null) {
        let id: string | null = null;
        try {
          id = m[1] === undefined ? null : decodeURIComponent(m[1]);
        } catch {
          return reject(res, true, 400, 'invalid_request_error', 'malformed model id in the path');
        }
        return models(req, res, id);
      }
    }
    // Claude Code lists inference profiles (control plane) first and tolerates an empty answer.
    if (req.method === 'GET' && path === '/inference-profiles')
      return sendJson(res, 200, '{"inferenceProfileSummaries":[]}');
    reject(
      res,
      false,
      404,
      'UnknownOperationException',
      `no route for ${req.method ?? ''} ${path.slice(0, 200)}`,
    );
  };

  /** Requests in progress, and who waits for there to be none (`settled`). */
  let active = 0;
  let idle: (() => void)[] = [];
  const ended = (): void => {
    if (--active > 0 || idle.length === 0) return;
    const waiting = idle;
    idle = [];
    for (const resolve of waiting) resolve();
  };

  return {
    handle(req, res) {
      stats.requests++;
      active++;
      route(req, res).then(ended, (e: unknown) => {
        ended();
        // Never crash the server on one request.
        if (res.headersSent) {
          res.destroy();
          return;
        }
        // A call is answered only once its record is durable (`recorded`): one that could not be spooled (a full
        // disk) is refused, saying so. Bedrock has answered it; its record may be lost (the spool logs each failure).
        const unrecorded = isAppError(e) && e.code === 'gateway.spool_write_failed';
        reject(
          res,
          isOpenAiPath(pathOf(req)),
          500,
          'InternalServerException',
          unrecorded
            ? 'the call could not be recorded: the gateway cannot write its usage spool'
            : 'gateway error',
        );
      });
    },
    stats: () => stats,
    settled: () =>
      active === 0 ? Promise.resolve() : new Promise<void>((resolve) => idle.push(resolve)),
    close: () => sampler?.stop(),
  };
}

/** The assumed-role session ARN CloudTrail and the bill show for a team's calls, or null without a team role. */
function sessionArnOf(key: VirtualKey, roles: Readonly<Record<string, string>>): string | null {
  const role = key.team === null ? undefined : roles[key.team];
  const m =
    role === undefined
      ? null
      : /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(role);
  return m === null
    ? null
    : `arn:${m[1]}:sts::${m[2]}:assumed-role/${m[3]}/${roleSessionNameOf(key)}`;
}

const roleSessionNameOf = (key: VirtualKey): string => roleSessionName(key.user ?? key.id);

function errorTypeOf(up: UpstreamResponse): string {
  const h = up.headers['x-amzn-errortype'];
  const v = Array.isArray(h) ? h[0] : h;
  if (typeof v === 'string' && v !== '') return v.split(':')[0] as string;
  return up.status === 429
    ? 'ThrottlingException'
    : up.status >= 500
      ? 'InternalServerException'
      : `Http${up.status}`;
}

function messageOf(body: Buffer): string {
  try {
    const m = (JSON.parse(body.toString('utf8')) as { message?: unknown; Message?: unknown }) ?? {};
    return String(m.message ?? m.Message ?? 'upstream error');
  } catch {
    return 'upstream error';
  }
}
