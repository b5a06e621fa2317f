/**
 * The OTLP receiver's sink: decode, read Claude Code events and metrics and GenAI spans, recompute each API
 * request's cost from its tokens with the catalog (Claude Code's own `cost_usd` is kept for comparison only), and
 * store them idempotently. A body that cannot be decoded is `otlp.malformed` (HTTP 400).
 */
import { AppError, type RawUsage } from '../core/index.ts';
import type { Normaliser } from '../normalise/index.ts';
import { type Catalog, priceOf } from '../price/index.ts';
import {
  type ClaudeCodeApiRequest,
  type ClaudeCodeEvent,
  type ClaudeCodeMetricDelta,
  CumulativeTracker,
  decodeOtlp,
  type GenAiSpanUsage,
  interpretClaudeCodeLogs,
  interpretClaudeCodeMetrics,
  interpretGenAiTraces,
  type OtlpBatch,
  type OtlpSink,
  type TelemetryIdentity,
} from '../sources/index.ts';
import type { Store, TelemetryEventRow, TelemetryMetricRow } from '../store/index.ts';

export interface OtlpSinkDeps {
  readonly store: Store;
  readonly catalog: Catalog;
  readonly normaliser: Normaliser;
  /** Telemetry does not say which Region served a call: the Region its tokens are priced in. */
  readonly defaultRegion?: string;
}

const json = (v: unknown) =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
const present = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));
const sourced = (identity: TelemetryIdentity) => present({ ...identity });

/** A Bedrock Anthropic model id's version suffix (`-v1:0`, `-v1`, `-v2:0`). */
const VERSION_SUFFIX = /-v\d+(?::\d+)?$/;
/** A release date at the end of a model name (`-20250929`). */
const RELEASE_DATE = /-\d{8}$/;
/** Anthropic's own model names, as the Messages API response body has them: no vendor prefix, no version. */
const RESPONSE_BODY_NAME = /^claude-[a-z0-9-]+$/;

interface ModelIndex {
  /** `claude-sonnet-4-5-20250929` → the catalog ids it names (one: unambiguous). */
  readonly exact: ReadonlyMap<string, readonly string[]>;
  /** The same without a release date, for catalog ids that have none (`claude-opus-4-7`). */
  readonly undated: ReadonlyMap<string, readonly string[]>;
}

const indexes = new WeakMap<Catalog, ModelIndex>();

function modelIndex(catalog: Catalog): ModelIndex {
  const cached = indexes.get(catalog);
  if (cached !== undefined) return cached;
  const exact = new Map<string, string[]>();
  const undated = new Map<string, string[]>();
  const add = (m: Map<string, string[]>, key: string, id: string) => {
    const list = m.get(key) ?? [];
    if (!list.includes(id)) list.push(id);
    m.set(key, list);
  };
  for (const { entry } of catalog.entries) {
    for (const id of entry.models) {
      if (!id.startsWith('anthropic.')) continue;
      const name = id.slice('anthropic.'.length).replace(VERSION_SUFFIX, '');
      add(exact, name, id);
      add(undated, name.replace(RELEASE_DATE, ''), id);
    }
  }
  const index = { exact, undated };
  indexes.set(catalog, index);
  return index;
}

/**
 * The Bedrock foundation-model id of a response-body Anthropic model name (what Claude Code's `api_request` `model`
 * is for newer versions: `claude-sonnet-4-5-20250929` → `anthropic.claude-sonnet-4-5-20250929-v1:0`), when the
 * catalog's ids name exactly one model for it; null otherwise (a Bedrock id, a profile, an ARN, an unknown or
 * ambiguous name). A dated name also finds an undated catalog id of the same model (`claude-opus-4-7-20260416` →
 * `anthropic.claude-opus-4-7`), never a catalog id with another date: that is another release.
 */
export function bedrockModelIdOf(name: string, catalog: Catalog): string | null {
  if (!RESPONSE_BODY_NAME.test(name)) return null;
  const index = modelIndex(catalog);
  const exact = index.exact.get(name);
  if (exact !== undefined) return exact.length === 1 ? (exact[0] ?? null) : null;
  const stripped = name.replace(RELEASE_DATE, '');
  if (stripped === name) return null;
  const candidates = index.undated.get(stripped) ?? [];
  const [only] = candidates;
  return candidates.length === 1 &&
    only !== undefined &&
    !RELEASE_DATE.test(only.slice('anthropic.'.length).replace(VERSION_SUFFIX, ''))
    ? only
    : null;
}

/**
 * Prices tokens the way an invocation-log record of the same call is priced. A response-body model name is priced
 * as the Bedrock model it names, in-Region at the standard tier (the event does not say which profile was called).
 */
function recompute(
  deps: OtlpSinkDeps,
  at: number,
  model: string | null,
  tokens: {
    input: number;
    output: number;
    cacheRead: number;
    w5: number;
    w1: number;
    ttlKnown: boolean;
  },
): { cost: bigint | null; base: string | null } {
  if (model === null) return { cost: null, base: null };
  const raw: RawUsage = {
    requestId: '',
    occurredAt: at,
    accountId: '',
    region: deps.defaultRegion ?? 'us-east-1',
    inferenceRegion: null,
    operation: 'Converse',
    modelId: bedrockModelIdOf(model, deps.catalog) ?? model,
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
  return { cost: priceOf(record, deps.catalog).cost.picos, base: record.model.base };
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
    userId: e.identity.userId?.value ?? e.identity.enduserId?.value ?? null,
    userEmail: e.identity.userEmail?.value ?? null,
    identity: json(sourced(e.identity)),
    dimensions: json(e.dimensions),
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
    costPicos: null,
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
  const { cost, base } = recompute(deps, e.at, e.model, {
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
    costPicos: cost,
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
    userId: m.identity.userId?.value ?? m.identity.enduserId?.value ?? null,
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
  const { cost, base } = recompute(deps, u.at, u.model, {
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
    userId: u.identity.userId?.value ?? u.identity.enduserId?.value ?? null,
    userEmail: u.identity.userEmail?.value ?? null,
    identity: json(sourced(u.identity)),
    dimensions: json(u.dimensions),
    model: u.model,
    modelBase: base,
    inputTokens: input,
    outputTokens: u.tokens.output,
    cacheReadTokens: u.tokens.cacheRead,
    cacheWrite5mTokens: u.tokens.cacheCreation,
    cacheWrite1hTokens: 0,
    costPicos: cost,
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

export function createOtlpSink(deps: OtlpSinkDeps): OtlpSink {
  const tracker = new CumulativeTracker();
  return {
    async accept(batch: OtlpBatch) {
      const context = { headers: batch.headers, receivedAt: batch.receivedAt };
      let events: TelemetryEventRow[] = [];
      let metrics: TelemetryMetricRow[] = [];
      if (batch.signal === 'logs') {
        const d = decodeOtlp('logs', batch.encoding, batch.body);
        if (!d.ok) throw new AppError('otlp.malformed', d.reason);
        events = interpretClaudeCodeLogs(d.request, context).events.map((e) =>
          eventRow(deps, e, batch.receivedAt),
        );
      } else if (batch.signal === 'metrics') {
        const d = decodeOtlp('metrics', batch.encoding, batch.body);
        if (!d.ok) throw new AppError('otlp.malformed', d.reason);
        metrics = interpretClaudeCodeMetrics(d.request, context, tracker).deltas.map((m) =>
          metricRow(m, batch.receivedAt),
        );
      } else {
        const d = decodeOtlp('traces', batch.encoding, batch.body);
        if (!d.ok) throw new AppError('otlp.malformed', d.reason);
        events = interpretGenAiTraces(d.request, context).usages.map((u) =>
          spanRow(deps, u, batch.receivedAt),
        );
      }
      try {
        await deps.store.telemetry.write(events, metrics);
        // Match this request's calls to server-side records (request id, else token fingerprint), or count them
        // client-only: only events and ledger records near them in time, not a scan of the whole ledger.
        const calls = events.filter((e) => e.kind === 'api_request');
        if (calls.length > 0) {
          await deps.store.telemetry.enrich({
            fromMs: calls.reduce((m, e) => Math.min(m, e.at), Number.POSITIVE_INFINITY),
            toMs: calls.reduce((m, e) => Math.max(m, e.at), Number.NEGATIVE_INFINITY),
          });
        }
      } catch (e: unknown) {
        throw new AppError(
          'store.write_failed',
          `storing telemetry failed: ${(e as Error).message}`,
          {
            cause: e,
            retryable: true,
          },
        );
      }
      return { rejected: 0 };
    },
  };
}
