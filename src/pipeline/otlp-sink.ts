/**
 * The OTLP receiver's sink: decode, read Claude Code events and metrics, GenAI spans and the GenAI
 * `gen_ai.client.token.usage` histogram, recompute each API request's cost from its tokens with the catalog (Claude
 * Code's own `cost_usd` is kept for comparison only), and store them idempotently. A body that cannot be decoded is
 * `otlp.malformed` (HTTP 400).
 *
 * GenAI token-usage metrics (an app that exports only the histogram, no spans) are stored beside the spans as
 * API-request rows of source `genai_metric`, one per interval of a stream (model, provider, operation, resource and
 * point attributes) with its input and output tokens and the calls it counted, priced like a span. Delta points are
 * taken as they are and cumulative ones through the receiver's `CumulativeTracker`, so re-exports, retries and
 * client and receiver restarts count once (see `createOtlpSink`). No double counting with spans: such a row counts nowhere when a GenAI span of the
 * same service (`service.name`) and model lies in its interval — the spans count those calls, one by one, and the
 * matcher (store/duckdb/telemetry-match.ts, match `span`) decides it from the stored data, whichever arrives first.
 * Like a span, a row no span covers counts in the ledger (client-only) only where no server-side record of its
 * model covers the hour — of its AWS account when the resource names one (`cloud.account.id`).
 */
import { AppError, limiter, type RawUsage } from '../core/index.ts';
import type { Normaliser } from '../normalise/index.ts';
import { type Catalog, priceOf } from '../price/index.ts';
import {
  type ClaudeCodeApiRequest,
  type ClaudeCodeEvent,
  type ClaudeCodeMetricDelta,
  CumulativeTracker,
  decodeOtlp,
  type GenAiMetricInterval,
  type GenAiSpanUsage,
  genAiMetricIntervals,
  interpretClaudeCodeLogs,
  interpretClaudeCodeMetrics,
  interpretGenAiMetrics,
  interpretGenAiTraces,
  type OtlpBatch,
  type OtlpSink,
  type TelemetryIdentity,
} from '../sources/index.ts';
import {
  type Store,
  TELEMETRY_REGION,
  TELEMETRY_UNKNOWN_ACCOUNT,
  type TelemetryEventRow,
  type TelemetryMetricRow,
  type TelemetryStreamRow,
} from '../store/index.ts';
import { withResponseModelNames } from './response-model.ts';

export { bedrockModelIdOf } from './response-model.ts';

export interface OtlpSinkDeps {
  readonly store: Store;
  readonly catalog: Catalog;
  readonly normaliser: Normaliser;
  /**
   * How long a cumulative stream's stored state is kept after its last point (default 7 days): a stream idle longer
   * is taken as ended, and a point of it arriving later counts as a new stream's.
   */
  readonly cumulativeRetentionMs?: number;
}

const WEEK_MS = 7 * 24 * 3_600_000;
/** Problems named in a partial success's error message; the rest are counted. */
const PROBLEMS_TOLD = 3;

const json = (v: unknown) =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
const present = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));
const sourced = (identity: TelemetryIdentity) => present({ ...identity });

/**
 * Prices tokens the way an invocation-log record of the same call is priced. A response-body model name is priced
 * as the Bedrock model it names, in-Region at the standard tier (the event does not say which profile was called),
 * in `TELEMETRY_REGION` and the event's account (else `TELEMETRY_UNKNOWN_ACCOUNT`), which is what its client-only
 * ledger row says: `deps.normaliser` is the sink's `withResponseModelNames` one, as reprice's is, so a reprice with an
 * unchanged catalog changes nothing.
 */
function recompute(
  deps: OtlpSinkDeps,
  at: number,
  model: string | null,
  // The event's AWS account when it names one: per-account discounts apply, as to its client-only row.
  account: string | null,
  tokens: {
    input: number;
    output: number;
    cacheRead: number;
    w5: number;
    w1: number;
    ttlKnown: boolean;
  },
): { price: EventPrice; base: string | null } {
  if (model === null) return { price: NO_PRICE, base: null };
  const raw: RawUsage = {
    requestId: '',
    occurredAt: at,
    accountId: account ?? TELEMETRY_UNKNOWN_ACCOUNT,
    region: TELEMETRY_REGION,
    inferenceRegion: null,
    operation: 'Converse',
    modelId: model,
    identityArn: null,
    requestMetadata: {},
    tokens: {
      input: tokens.input,
      output: tokens.output,
      cacheRead: tokens.cacheRead,
      cacheWrite5m: tokens.w5,
      cacheWrite1h: tokens.w1,
    },
    cacheTtlKnown: tokens.ttlKnown,
    tier: 'standard',
    latencyMs: null,
    firstByteMs: null,
    errorCode: null,
    source: { uri: 'otlp', line: 0 },
  };
  const record = deps.normaliser.normalise(raw);
  const { cost, flags } = priceOf(record, deps.catalog);
  return {
    price: {
      costPicos: cost.picos,
      priceId: cost.priceId,
      priceFlags: flags.join(','),
      catalogHash: cost.catalogHash,
    },
    base: record.model.base,
  };
}

/** A telemetry call's price as the ledger records it (a client-only ledger row carries all of it). */
type EventPrice = Pick<TelemetryEventRow, 'costPicos' | 'priceId' | 'priceFlags' | 'catalogHash'>;
const NO_PRICE: EventPrice = {
  costPicos: null,
  priceId: null,
  priceFlags: null,
  catalogHash: null,
};

/**
 * Who a record is about: `enduser.id` when given (set on purpose — what Anthropic's docs advise for Bedrock sessions,
 * through OTEL_RESOURCE_ATTRIBUTES; the OpenTelemetry attribute for the end user), else `user.id`, which Claude Code
 * always sets to an anonymous install id.
 */
function personOf(identity: TelemetryIdentity): string | null {
  return identity.enduserId?.value ?? identity.userId?.value ?? null;
}

function eventRow(deps: OtlpSinkDeps, e: ClaudeCodeEvent, receivedAt: number): TelemetryEventRow {
  const base = {
    eventKey: e.eventKey,
    at: e.at,
    source: 'claude_code',
    kind: e.kind,
    event: e.event,
    sessionId: e.sessionId,
    promptId: e.promptId,
    userId: personOf(e.identity),
    userEmail: e.identity.userEmail?.value ?? null,
    identity: json(sourced(e.identity)),
    dimensions: json(e.dimensions),
    account: e.awsAccount,
    terminal: e.terminal,
    version: e.version,
    attributes: json(e.extra),
    receivedAt,
  };
  const none = {
    model: null,
    modelBase: null,
    inputTokens: null,
    outputTokens: null,
    cacheReadTokens: null,
    cacheWrite5mTokens: null,
    cacheWrite1hTokens: null,
    ...NO_PRICE,
    costReportedUsd: null,
    durationMs: null,
    requestId: null,
    toolName: null,
    decision: null,
    success: null,
    querySource: null,
  };
  switch (e.kind) {
    case 'api_request':
      return { ...base, ...none, ...apiRequest(deps, e) };
    case 'api_error':
      return {
        ...base,
        ...none,
        model: e.model,
        durationMs: e.durationMs,
        requestId: e.requestId,
        querySource: e.querySource,
      };
    case 'tool_result':
      return {
        ...base,
        ...none,
        toolName: e.toolName,
        success: e.success,
        durationMs: e.durationMs,
      };
    case 'tool_decision':
      // The decision's source (config, hook, user_permanent …) and the tool's origin have no column: kept with the
      // other attributes, where the tools report reads `$.source`.
      return {
        ...base,
        ...none,
        toolName: e.toolName,
        decision: e.decision,
        attributes: json({
          ...e.extra,
          ...present({
            source: e.source,
            tool_source: e.toolSource,
            tool_use_id: e.toolUseId,
          }),
        }),
      };
    default:
      return { ...base, ...none };
  }
}

function apiRequest(deps: OtlpSinkDeps, e: ClaudeCodeApiRequest) {
  const split = e.cacheCreation5mTokens !== null || e.cacheCreation1hTokens !== null;
  const w1 = e.cacheCreation1hTokens ?? 0;
  const w5 = split
    ? (e.cacheCreation5mTokens ?? e.cacheCreationTokens - w1)
    : e.cacheCreationTokens;
  const { price, base } = recompute(deps, e.at, e.model, e.awsAccount, {
    input: e.inputTokens,
    output: e.outputTokens,
    cacheRead: e.cacheReadTokens,
    w5,
    w1,
    ttlKnown: split || e.cacheCreationTokens === 0,
  });
  return {
    model: e.model,
    modelBase: base,
    inputTokens: e.inputTokens,
    outputTokens: e.outputTokens,
    cacheReadTokens: e.cacheReadTokens,
    cacheWrite5mTokens: w5,
    cacheWrite1hTokens: w1,
    ...price,
    costReportedUsd: e.costUsdReported,
    durationMs: e.durationMs,
    requestId: e.requestId,
    querySource: e.querySource,
  };
}

function metricRow(m: ClaudeCodeMetricDelta, receivedAt: number): TelemetryMetricRow {
  return {
    pointKey: m.key,
    at: m.at,
    from: m.from,
    metric: m.metric,
    type: m.type,
    model: m.model,
    value: String(m.value),
    sessionId: m.sessionId,
    userId: personOf(m.identity),
    userEmail: m.identity.userEmail?.value ?? null,
    dimensions: json(m.dimensions),
    terminal: m.terminal,
    version: m.version,
    // The point's own attributes (code_edit_tool.decision: tool_name, decision, source, language).
    attributes: json(m.extra),
    receivedAt,
  };
}

function spanRow(deps: OtlpSinkDeps, u: GenAiSpanUsage, receivedAt: number): TelemetryEventRow {
  const input = u.uncachedInputTokens ?? u.tokens.input ?? 0;
  const { price, base } = recompute(deps, u.at, u.model, u.awsAccount, {
    input,
    output: u.tokens.output ?? 0,
    cacheRead: u.tokens.cacheRead ?? 0,
    w5: u.tokens.cacheCreation ?? 0,
    w1: 0,
    ttlKnown: (u.tokens.cacheCreation ?? 0) === 0,
  });
  return {
    eventKey: `span:${u.traceId}:${u.spanId}`,
    at: u.at,
    source: 'genai',
    kind: 'api_request',
    event: u.operation ?? u.spanName,
    sessionId: u.sessionId ?? u.conversationId,
    promptId: null,
    userId: personOf(u.identity),
    userEmail: u.identity.userEmail?.value ?? null,
    identity: json(sourced(u.identity)),
    dimensions: json(u.dimensions),
    account: u.awsAccount,
    model: u.model,
    modelBase: base,
    inputTokens: input,
    outputTokens: u.tokens.output,
    cacheReadTokens: u.tokens.cacheRead,
    cacheWrite5mTokens: u.tokens.cacheCreation,
    cacheWrite1hTokens: 0,
    ...price,
    costReportedUsd: null,
    durationMs: u.durationMs,
    requestId: u.requestId,
    toolName: null,
    decision: null,
    success: u.error === null,
    terminal: null,
    version: null,
    querySource: null,
    attributes: json({
      provider: u.provider,
      serviceName: u.serviceName,
      responseId: u.responseId,
    }),
    receivedAt,
  };
}

/** Source of the API-request rows read from `gen_ai.client.token.usage` (telemetry-match.ts knows it too). */
export const GENAI_METRIC_SOURCE = 'genai_metric';

/**
 * One interval of the token-usage histogram as an API-request row standing for `operations` calls: stamped at the
 * interval's end with its length as the duration (the matcher's window is [end − duration, end], capped at an
 * hour), input and output tokens priced as a span's are (the metric has no cache token types: its input is priced
 * at the input rate), and the calls it counted in `attributes.operations`.
 */
function metricUsageRow(
  deps: OtlpSinkDeps,
  m: GenAiMetricInterval,
  receivedAt: number,
): TelemetryEventRow {
  const { price, base } = recompute(deps, m.at, m.model, m.awsAccount, {
    input: m.inputTokens,
    output: m.outputTokens,
    cacheRead: 0,
    w5: 0,
    w1: 0,
    ttlKnown: true,
  });
  return {
    // `metric:` also tells `explain` (cli/commands/explain.ts) a client-only row of an interval from one call's.
    eventKey: `metric:${m.key}`,
    at: m.at,
    source: GENAI_METRIC_SOURCE,
    kind: 'api_request',
    event: m.operation ?? 'gen_ai.client.token.usage',
    sessionId: m.sessionId ?? m.conversationId,
    promptId: null,
    userId: personOf(m.identity),
    userEmail: m.identity.userEmail?.value ?? null,
    identity: json(sourced(m.identity)),
    dimensions: json(m.dimensions),
    account: m.awsAccount,
    model: m.model,
    modelBase: base,
    inputTokens: m.inputTokens,
    outputTokens: m.outputTokens,
    cacheReadTokens: null,
    cacheWrite5mTokens: null,
    cacheWrite1hTokens: null,
    ...price,
    costReportedUsd: null,
    durationMs: Math.max(0, m.at - m.from),
    requestId: null,
    toolName: null,
    decision: null,
    success: null,
    terminal: null,
    version: null,
    querySource: null,
    attributes: json({
      provider: m.provider,
      serviceName: m.serviceName,
      operations: m.operations,
      temporality: m.temporality,
      ...(Object.keys(m.otherTokens).length > 0 ? { otherTokens: m.otherTokens } : {}),
    }),
    receivedAt,
  };
}

const writeFailed = (e: unknown) =>
  new AppError('store.write_failed', `storing telemetry failed: ${(e as Error).message}`, {
    cause: e,
    retryable: true,
  });

/**
 * Cumulative metrics are turned into increases against the last point of each stream, which is stored with the rows
 * it produced (one transaction) and loaded from the ledger by the first metrics request: a restarted receiver
 * continues each running total where it was. The in-memory state moves only after the write commits (a failed
 * write leaves it as it was, so the exporter's retry counts the same increase), and metrics requests go through
 * that read-compute-write one at a time. One sink per ledger: two sinks writing the same streams would each keep
 * their own state.
 */
export function createOtlpSink(given: OtlpSinkDeps): OtlpSink {
  const deps = { ...given, normaliser: withResponseModelNames(given.normaliser, given.catalog) };
  const tracker = new CumulativeTracker();
  let loaded: Promise<void> | null = null;
  const load = (now: number): Promise<void> => {
    loaded ??= deps.store.telemetry
      .streams(now - (deps.cumulativeRetentionMs ?? WEEK_MS))
      .then((streams) => tracker.seed(streams))
      .catch((e: unknown) => {
        loaded = null;
        throw writeFailed(e);
      });
    return loaded;
  };
  const oneAtATime = limiter(1);
  // A match costs ~20 statements whatever its span, and exporters send several requests at once: requests that
  // arrive while a match runs share the next one, over the union of their spans. Each request's events are written
  // before it asks, so the match that covers it starts after its write; it is answered when that match is done.
  let matching: Promise<unknown> = Promise.resolve();
  let nextMatch: { fromMs: number; toMs: number; done: Promise<void> } | null = null;
  const enrich = (fromMs: number, toMs: number): Promise<void> => {
    if (nextMatch !== null) {
      nextMatch.fromMs = Math.min(nextMatch.fromMs, fromMs);
      nextMatch.toMs = Math.max(nextMatch.toMs, toMs);
      return nextMatch.done;
    }
    const slot = { fromMs, toMs, done: Promise.resolve() };
    slot.done = matching.then(async () => {
      // From here on, requests wait for the match after this one.
      if (nextMatch === slot) nextMatch = null;
      await deps.store.telemetry.enrich({ fromMs: slot.fromMs, toMs: slot.toMs });
    });
    nextMatch = slot;
    matching = slot.done.catch(() => undefined);
    return slot.done;
  };
  const write = async (
    events: readonly TelemetryEventRow[],
    metrics: readonly TelemetryMetricRow[],
    streams: readonly TelemetryStreamRow[] = [],
  ) => {
    try {
      await deps.store.telemetry.write(events, metrics, streams);
    } catch (e: unknown) {
      throw writeFailed(e);
    }
  };
  return {
    async accept(batch: OtlpBatch) {
      const context = { headers: batch.headers, receivedAt: batch.receivedAt };
      let events: TelemetryEventRow[] = [];
      /** Data points refused (a value that is no count, an unexpected type): told to the exporter, not retried. */
      let refused: { count: number; problems: readonly string[] } = { count: 0, problems: [] };
      if (batch.signal === 'logs') {
        const d = decodeOtlp('logs', batch.encoding, batch.body);
        if (!d.ok) throw new AppError('otlp.malformed', d.reason);
        events = interpretClaudeCodeLogs(d.request, context).events.map((e) =>
          eventRow(deps, e, batch.receivedAt),
        );
        await write(events, []);
      } else if (batch.signal === 'metrics') {
        const d = decodeOtlp('metrics', batch.encoding, batch.body);
        if (!d.ok) throw new AppError('otlp.malformed', d.reason);
        events = await oneAtATime(async () => {
          await load(batch.receivedAt);
          const stage = tracker.stage();
          const claudeCode = interpretClaudeCodeMetrics(d.request, context, stage);
          const genAi = interpretGenAiMetrics(d.request, context, stage);
          refused = {
            count: claudeCode.rejected + genAi.rejected,
            problems: [...claudeCode.problems, ...genAi.problems],
          };
          const metrics = claudeCode.deltas.map((m) => metricRow(m, batch.receivedAt));
          const usages = genAiMetricIntervals(genAi.usages).map((m) =>
            metricUsageRow(deps, m, batch.receivedAt),
          );
          await write(usages, metrics, stage.changes());
          stage.commit();
          return usages;
        });
      } else {
        const d = decodeOtlp('traces', batch.encoding, batch.body);
        if (!d.ok) throw new AppError('otlp.malformed', d.reason);
        events = interpretGenAiTraces(d.request, context).usages.map((u) =>
          spanRow(deps, u, batch.receivedAt),
        );
        await write(events, []);
      }
      try {
        // Match this request's calls to server-side records (request id, else token fingerprint), or count them
        // client-only: only events and ledger records near them in time, not a scan of the whole ledger.
        const calls = events.filter((e) => e.kind === 'api_request');
        if (calls.length > 0)
          await enrich(
            calls.reduce((m, e) => Math.min(m, e.at), Number.POSITIVE_INFINITY),
            calls.reduce((m, e) => Math.max(m, e.at), Number.NEGATIVE_INFINITY),
          );
      } catch (e: unknown) {
        throw writeFailed(e);
      }
      if (refused.count === 0) return { rejected: 0 };
      const more = refused.problems.length - PROBLEMS_TOLD;
      return {
        rejected: refused.count,
        message:
          refused.problems.slice(0, PROBLEMS_TOLD).join('; ') +
          (more > 0 ? ` (and ${more} more)` : ''),
      };
    },
  };
}
