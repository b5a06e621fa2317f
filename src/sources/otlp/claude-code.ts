/**
 * Claude Code telemetry (telemetry.md §1–2), interpreted: the observation types and what every observation shares.
 * `claude-code-events.ts` reads the events (OTLP logs), `claude-code-metrics.ts` the eight `claude_code.*` metrics.
 *
 * Claude Code is recognised by its instrumentation scope (`com.anthropic.claude_code[.events]`), a body or event
 * name `claude_code.*`, or a metric name `claude_code.*` — never by `service.name`, which users can override.
 * Values are read by attribute name whatever their wire type (all strings in 2.1.88, typed later).
 */
import type {
  Attribution,
  HeaderInput,
  IdentityOrigin,
  SourcedValue,
  TelemetryIdentity,
} from './attribution.ts';
import type { CumulativeOutcome } from './cumulative.ts';
import type { InstrumentationScope } from './shape.ts';
import type { Attrs, PlainValue } from './values.ts';

export type { HeaderInput, IdentityOrigin, SourcedValue, TelemetryIdentity };

export interface ClaudeCodeContext {
  /** The HTTP request's headers: identity headers (`x-user-email`, `x-team-id`, …) are the last resort. */
  readonly headers?: HeaderInput;
  /** When the request was received, epoch ms: the time of a record that carries none. */
  readonly receivedAt: number;
}

/** What every Claude Code observation carries. */
export interface ClaudeCodeCommon {
  /** Epoch ms: the record's time (else its observed time, else `event.timestamp`, else `receivedAt`). */
  readonly at: number;
  readonly sessionId: string | null;
  /** TelemetryIdentity, each attribute resolved record → resource → header, with the winner named. */
  readonly identity: TelemetryIdentity;
  /** Attribution attributes (OTEL_RESOURCE_ATTRIBUTES keys such as team, department, cost_center, headers). */
  readonly dimensions: Readonly<Record<string, SourcedValue>>;
  /** `terminal.type`. */
  readonly terminal: string | null;
  /** Claude Code version: `app.version`, else resource `service.version`, else the scope version. */
  readonly version: string | null;
  /** `app.entrypoint` (`cli`, `sdk-ts`, `claude-vscode`, …; off by default). */
  readonly entrypoint: string | null;
  /** Resource `service.name` (`claude-code`, `claude-code-desktop`, or whatever the user set). */
  readonly serviceName: string | null;
  /** `anthropic.provider` (`bedrock` on Bedrock sessions). */
  readonly provider: string | null;
  /**
   * The AWS account: a 12-digit `cloud.account.id`, record → resource (Claude Code does not send it; an
   * `OTEL_RESOURCE_ATTRIBUTES` entry can).
   */
  readonly awsAccount: string | null;
  /** Attributes not read into a field above or below, so nothing new is lost. */
  readonly extra: Readonly<Record<string, PlainValue>>;
  /** Values present but unreadable as their name's type (they are null in the fields). */
  readonly issues: readonly string[];
}

/** What every event shares. */
export interface ClaudeCodeEventCommon extends ClaudeCodeCommon {
  /** The event name without the `claude_code.` prefix, e.g. `api_request`. */
  readonly event: string;
  /** `event.sequence`: per-process counter from 0. */
  readonly sequence: number | null;
  readonly promptId: string | null;
  readonly timeUnixNano: bigint;
  /** Idempotency key `(session.id, event.sequence, time, event)`: an exporter retry yields the same key. */
  readonly eventKey: string;
  /** Present only when a span context was active (tracing beta, TRACEPARENT). */
  readonly traceId: string;
  readonly spanId: string;
}

/** The request-shaping attributes of API events and cost metrics. */
export interface ClaudeCodeRequestFacets {
  /**
   * As sent: on Bedrock a model id, profile id or ARN. Metrics carry the id that was called (the one to price by);
   * events in recent versions the model the response named.
   */
  readonly model: string | null;
  readonly speed: string | null;
  /** Raw subsystem on events (`repl_main_thread`, `compact`, `sdk`, …); a category on metrics. */
  readonly querySource: string | null;
  readonly effort: string | null;
  readonly agentName: string | null;
  readonly skillName: string | null;
  readonly pluginName: string | null;
  readonly marketplaceName: string | null;
  readonly mcpServerName: string | null;
  readonly mcpToolName: string | null;
}

export interface ClaudeCodeApiRequest extends ClaudeCodeEventCommon, ClaudeCodeRequestFacets {
  readonly kind: 'api_request';
  /** Uncached input (Anthropic semantics: excludes cache reads and writes). 0 and an issue when absent. */
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheCreationTokens: number;
  /** The 5-minute / 1-hour split of cache writes, when sent (2.1.3xx on Bedrock). */
  readonly cacheCreation5mTokens: number | null;
  readonly cacheCreation1hTokens: number | null;
  /** Claude Code's own estimate at Anthropic list prices, as an exact decimal string; for comparison only. */
  readonly costUsdReported: string | null;
  readonly costUsdMicrosReported: number | null;
  readonly durationMs: number | null;
  readonly ttftMs: number | null;
  /** On Bedrock (recent versions) the `x-amzn-RequestId` of the call: joins the invocation log exactly. */
  readonly requestId: string | null;
  /** Absent on Bedrock/Vertex/Foundry. */
  readonly clientRequestId: string | null;
}

export interface ClaudeCodeApiError extends ClaudeCodeEventCommon, ClaudeCodeRequestFacets {
  readonly kind: 'api_error';
  readonly error: string | null;
  /** Null for non-HTTP errors (2.1.88 sent the string "undefined"). */
  readonly statusCode: number | null;
  readonly durationMs: number | null;
  /** Attempts so far, the first included. */
  readonly attempt: number | null;
  readonly requestId: string | null;
  readonly clientRequestId: string | null;
}

export interface ClaudeCodeApiRefusal extends ClaudeCodeEventCommon, ClaudeCodeRequestFacets {
  readonly kind: 'api_refusal';
  readonly requestId: string | null;
  readonly attempt: number | null;
  readonly serverFallbackHop: boolean | null;
  readonly hasCategory: boolean | null;
  readonly hasExplanation: boolean | null;
  readonly category: string | null;
}

export interface ClaudeCodeApiRetriesExhausted
  extends ClaudeCodeEventCommon,
    ClaudeCodeRequestFacets {
  readonly kind: 'api_retries_exhausted';
  readonly error: string | null;
  readonly statusCode: number | null;
  readonly totalAttempts: number | null;
  readonly totalRetryDurationMs: number | null;
}

export interface ClaudeCodeToolResult extends ClaudeCodeEventCommon {
  readonly kind: 'tool_result';
  readonly toolName: string | null;
  readonly toolUseId: string | null;
  readonly success: boolean | null;
  readonly durationMs: number | null;
  readonly errorType: string | null;
  readonly error: string | null;
  readonly decisionType: string | null;
  readonly decisionSource: string | null;
  readonly toolInputSizeBytes: number | null;
  readonly toolResultSizeBytes: number | null;
  readonly mcpServerScope: string | null;
}

export interface ClaudeCodeToolDecision extends ClaudeCodeEventCommon {
  readonly kind: 'tool_decision';
  readonly toolName: string | null;
  readonly toolUseId: string | null;
  /** `accept` | `reject`. */
  readonly decision: string | null;
  /** `config` | `hook` | `user_permanent` | `user_temporary` | `user_abort` | `user_reject`. */
  readonly source: string | null;
  readonly toolSource: string | null;
}

export interface ClaudeCodeUserPrompt extends ClaudeCodeEventCommon {
  readonly kind: 'user_prompt';
  readonly promptLength: number | null;
  /** `<REDACTED>` unless OTEL_LOG_USER_PROMPTS. */
  readonly prompt: string | null;
  readonly messageUuid: string | null;
  readonly commandName: string | null;
  readonly commandSource: string | null;
}

export interface ClaudeCodeAssistantResponse extends ClaudeCodeEventCommon {
  readonly kind: 'assistant_response';
  readonly model: string | null;
  readonly responseLength: number | null;
  readonly requestId: string | null;
  readonly messageUuid: string | null;
  readonly querySource: string | null;
}

/** Any other event, documented or not: its attributes are in `extra`. */
export interface ClaudeCodeOtherEvent extends ClaudeCodeEventCommon {
  readonly kind: 'other';
  /** Whether telemetry.md lists the event (false: a new or unknown event, also counted as such). */
  readonly documented: boolean;
}

export type ClaudeCodeEvent =
  | ClaudeCodeApiRequest
  | ClaudeCodeApiError
  | ClaudeCodeApiRefusal
  | ClaudeCodeApiRetriesExhausted
  | ClaudeCodeToolResult
  | ClaudeCodeToolDecision
  | ClaudeCodeUserPrompt
  | ClaudeCodeAssistantResponse
  | ClaudeCodeOtherEvent;

/** A metric value, exact: counts and tokens as bigint, cost as a decimal string, active time in seconds. */
export type ClaudeCodeMetricValue =
  | { readonly valueType: 'integer'; readonly value: bigint }
  | { readonly valueType: 'usd'; readonly value: string }
  | { readonly valueType: 'seconds'; readonly value: number }
  /** A `claude_code.*` metric this code does not know: its value as a decimal string. */
  | { readonly valueType: 'decimal'; readonly value: string };

interface ClaudeCodeMetricDeltaBase extends ClaudeCodeCommon, ClaudeCodeRequestFacets {
  readonly kind: 'metric';
  /** Full metric name, e.g. `claude_code.token.usage`. */
  readonly metric: string;
  readonly temporality: 'delta' | 'cumulative';
  /** `delta` for delta points; how the cumulative tracker read the point otherwise. */
  readonly outcome: 'delta' | CumulativeOutcome;
  /** The interval the increase covers, epoch ms (`at` is its end). */
  readonly from: number;
  readonly startTimeUnixNano: bigint;
  readonly timeUnixNano: bigint;
  /** `type`: token type (`input`|`output`|`cacheRead`|`cacheCreation`), lines `added`|`removed`, time `user`|`cli`. */
  readonly type: string | null;
  /** Idempotency key of the point: stream identity + start + time (hashed). */
  readonly key: string;
}

export type ClaudeCodeMetricDelta = ClaudeCodeMetricDeltaBase & ClaudeCodeMetricValue;

export type ClaudeCodeObservation = ClaudeCodeEvent | ClaudeCodeMetricDelta;

// ── shared reading ────────────────────────────────────────────────────────────────────────────────────────────

export const CLAUDE_CODE_EVENTS_SCOPE = 'com.anthropic.claude_code.events';
export const CLAUDE_CODE_METRICS_SCOPE = 'com.anthropic.claude_code';
export const CLAUDE_CODE_PREFIX = 'claude_code.';

/** True when the scope is Claude Code's meter or events logger. */
export function isClaudeCodeScope(scope: InstrumentationScope): boolean {
  return (
    scope.name === CLAUDE_CODE_METRICS_SCOPE ||
    scope.name.startsWith(`${CLAUDE_CODE_METRICS_SCOPE}.`)
  );
}

/** The fields of `ClaudeCodeCommon` apart from `at`, `extra` and `issues`, read from one record or point. */
export function commonFields(
  record: Attrs,
  attribution: Attribution,
  scope: InstrumentationScope,
): Omit<ClaudeCodeCommon, 'at' | 'extra' | 'issues'> {
  const res = attribution.resourceAttrs;
  return {
    sessionId: record.str('session.id') ?? res.str('session.id'),
    identity: attribution.identity(record),
    dimensions: attribution.dimensions(record),
    terminal: record.str('terminal.type'),
    version: record.str('app.version') ?? res.str('service.version') ?? (scope.version || null),
    entrypoint: record.str('app.entrypoint'),
    serviceName: res.str('service.name'),
    provider: record.str('anthropic.provider') ?? res.str('anthropic.provider'),
    awsAccount: attribution.awsAccount(record),
  };
}

/** `model`, `speed`, `query_source`, … as on API events and cost/token points. */
export function requestFacets(a: Attrs): ClaudeCodeRequestFacets {
  return {
    model: a.str('model'),
    speed: a.str('speed'),
    querySource: a.str('query_source'),
    effort: a.str('effort'),
    agentName: a.str('agent.name'),
    skillName: a.str('skill.name'),
    pluginName: a.str('plugin.name'),
    marketplaceName: a.str('marketplace.name'),
    mcpServerName: a.str('mcp_server.name'),
    mcpToolName: a.str('mcp_tool.name'),
  };
}
