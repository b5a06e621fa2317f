/**
 * Claude Code events (OTLP logs, telemetry.md §2) → typed observations. Everything is in the record attributes; the
 * body is only the string `claude_code.<event>` and `event.name` is the name without the prefix. Each event keeps
 * the attributes no field took in `extra`; an event telemetry.md does not list becomes an `other` observation and
 * is counted in `counts.unknown` — nothing is dropped silently.
 */
import { Attribution, headerAttributes } from './attribution.ts';
import {
  CLAUDE_CODE_PREFIX,
  type ClaudeCodeCommon,
  type ClaudeCodeContext,
  type ClaudeCodeEvent,
  type ClaudeCodeEventCommon,
  commonFields,
  isClaudeCodeScope,
  requestFacets,
} from './claude-code.ts';
import type { LogRecord, LogsRequest } from './shape.ts';
import { Attrs, nanosToMs } from './values.ts';

/** Every event name telemetry.md §2.3 (and claude-code-on-bedrock.md) lists, without the prefix. */
export const CLAUDE_CODE_DOCUMENTED_EVENTS: readonly string[] = [
  'user_prompt',
  'assistant_response',
  'api_request',
  'api_error',
  'api_refusal',
  'api_retries_exhausted',
  'api_request_body',
  'api_response_body',
  'tool_decision',
  'tool_result',
  'permission_mode_changed',
  'auth',
  'mcp_server_connection',
  'internal_error',
  'plugin_installed',
  'plugin_loaded',
  'skill_activated',
  'at_mention',
  'hook_registered',
  'hook_execution_start',
  'hook_execution_complete',
  'hook_plugin_metrics',
  'compaction',
  'feedback_survey',
  'subagent_completed',
  'retention_sweep',
  'managed_settings_resolved',
  'system_prompt',
  'tool',
];

export interface ClaudeCodeLogCounts {
  /** Log records in the request. */
  readonly records: number;
  /** Claude Code events, by name. */
  readonly byEvent: Readonly<Record<string, number>>;
  /** Events telemetry.md does not list, by name (`(unnamed)` for none): kept as `other`. */
  readonly unknown: Readonly<Record<string, number>>;
  /** Records from other instrumentation, left to other readers. */
  readonly notClaudeCode: number;
}

export interface ClaudeCodeLogsResult {
  readonly events: readonly ClaudeCodeEvent[];
  readonly counts: ClaudeCodeLogCounts;
}

/** The fields of one event type beyond the common ones (distributed over the union). */
type Specific<E extends ClaudeCodeEvent> = E extends ClaudeCodeEvent
  ? Omit<E, keyof ClaudeCodeEventCommon>
  : never;
type Reader = (a: Attrs) => Specific<ClaudeCodeEvent>;

const READERS: Readonly<Record<string, Reader>> = {
  api_request: (a) => ({
    kind: 'api_request',
    ...requestFacets(a),
    inputTokens: a.count('input_tokens'),
    outputTokens: a.count('output_tokens'),
    cacheReadTokens: a.count('cache_read_tokens'),
    cacheCreationTokens: a.count('cache_creation_tokens'),
    cacheCreation5mTokens: a.countOrNull('cache_creation_5m_tokens'),
    cacheCreation1hTokens: a.countOrNull('cache_creation_1h_tokens'),
    costUsdReported: a.decimal('cost_usd'),
    costUsdMicrosReported: a.int('cost_usd_micros'),
    durationMs: a.num('duration_ms'),
    ttftMs: a.num('ttft_ms'),
    requestId: a.str('request_id'),
    clientRequestId: a.str('client_request_id'),
  }),
  api_error: (a) => ({
    kind: 'api_error',
    ...requestFacets(a),
    error: a.str('error'),
    statusCode: a.int('status_code'),
    durationMs: a.num('duration_ms'),
    attempt: a.int('attempt'),
    requestId: a.str('request_id'),
    clientRequestId: a.str('client_request_id'),
  }),
  api_refusal: (a) => ({
    kind: 'api_refusal',
    ...requestFacets(a),
    requestId: a.str('request_id'),
    attempt: a.int('attempt'),
    serverFallbackHop: a.bool('server_fallback_hop'),
    hasCategory: a.bool('has_category'),
    hasExplanation: a.bool('has_explanation'),
    category: a.str('category'),
  }),
  api_retries_exhausted: (a) => ({
    kind: 'api_retries_exhausted',
    ...requestFacets(a),
    error: a.str('error'),
    statusCode: a.int('status_code'),
    totalAttempts: a.int('total_attempts'),
    totalRetryDurationMs: a.num('total_retry_duration_ms'),
  }),
  tool_result: (a) => ({
    kind: 'tool_result',
    toolName: a.str('tool_name'),
    toolUseId: a.str('tool_use_id'),
    success: a.bool('success'),
    durationMs: a.num('duration_ms'),
    errorType: a.str('error_type'),
    error: a.str('error'),
    decisionType: a.str('decision_type'),
    decisionSource: a.str('decision_source'),
    toolInputSizeBytes: a.countOrNull('tool_input_size_bytes'),
    toolResultSizeBytes: a.countOrNull('tool_result_size_bytes'),
    mcpServerScope: a.str('mcp_server_scope'),
  }),
  tool_decision: (a) => ({
    kind: 'tool_decision',
    toolName: a.str('tool_name'),
    toolUseId: a.str('tool_use_id'),
    decision: a.str('decision'),
    source: a.str('source'),
    toolSource: a.str('tool_source'),
  }),
  user_prompt: (a) => ({
    kind: 'user_prompt',
    promptLength: a.int('prompt_length'),
    prompt: a.str('prompt'),
    messageUuid: a.str('message.uuid'),
    commandName: a.str('command_name'),
    commandSource: a.str('command_source'),
  }),
  assistant_response: (a) => ({
    kind: 'assistant_response',
    model: a.str('model'),
    responseLength: a.int('response_length'),
    requestId: a.str('request_id'),
    messageUuid: a.str('message.uuid'),
    querySource: a.str('query_source'),
  }),
};

/** The event name without prefix, or null when the record is not Claude Code's. */
function eventName(record: LogRecord, a: Attrs, claudeScope: boolean): string | null {
  const body = record.body?.type === 'string' ? record.body.value : '';
  const fromBody = body.startsWith(CLAUDE_CODE_PREFIX)
    ? body.slice(CLAUDE_CODE_PREFIX.length)
    : null;
  const fromField = record.eventName.startsWith(CLAUDE_CODE_PREFIX)
    ? record.eventName.slice(CLAUDE_CODE_PREFIX.length)
    : null;
  if (!claudeScope && fromBody === null && fromField === null) return null;
  const attr = a.str('event.name');
  const name = attr ?? fromField ?? fromBody ?? (record.eventName || '');
  return name.startsWith(CLAUDE_CODE_PREFIX) ? name.slice(CLAUDE_CODE_PREFIX.length) : name;
}

/** Unix nanos of an ISO-8601 `event.timestamp`, or 0n. */
function isoNanos(text: string | null): bigint {
  const ms = text === null ? Number.NaN : Date.parse(text);
  return Number.isFinite(ms) ? BigInt(ms) * 1_000_000n : 0n;
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Reads every Claude Code event of one decoded `/v1/logs` request. */
export function interpretClaudeCodeLogs(
  request: LogsRequest,
  context: ClaudeCodeContext,
): ClaudeCodeLogsResult {
  const headers = headerAttributes(context.headers);
  const events: ClaudeCodeEvent[] = [];
  const byEvent = new Map<string, number>();
  const unknown = new Map<string, number>();
  let records = 0;
  let notClaudeCode = 0;
  for (const rl of request.resourceLogs) {
    const attribution = new Attribution(rl.resource.attributes, headers);
    for (const sl of rl.scopeLogs) {
      const claudeScope = isClaudeCodeScope(sl.scope);
      for (const record of sl.logRecords) {
        records++;
        const a = new Attrs(record.attributes);
        const name = eventName(record, a, claudeScope);
        if (name === null) {
          notClaudeCode++;
          continue;
        }
        const reader = READERS[name];
        const documented = CLAUDE_CODE_DOCUMENTED_EVENTS.includes(name);
        bump(byEvent, name || '(unnamed)');
        if (!documented) bump(unknown, name || '(unnamed)');
        const specific: Specific<ClaudeCodeEvent> =
          reader === undefined ? { kind: 'other', documented } : reader(a);
        const sequence = a.int('event.sequence');
        const promptId = a.str('prompt.id');
        const nanos =
          record.timeUnixNano ||
          record.observedTimeUnixNano ||
          isoNanos(a.str('event.timestamp')) ||
          BigInt(context.receivedAt) * 1_000_000n;
        const common: Omit<ClaudeCodeCommon, 'extra' | 'issues'> = {
          at: nanosToMs(nanos),
          ...commonFields(a, attribution, sl.scope),
        };
        a.consume('event.timestamp');
        events.push({
          ...common,
          event: name,
          sequence,
          promptId,
          timeUnixNano: nanos,
          eventKey: `${common.sessionId ?? '-'}|${sequence ?? '-'}|${nanos}|${name}`,
          traceId: record.traceId,
          spanId: record.spanId,
          ...specific,
          extra: a.rest(),
          issues: a.issues,
        } as ClaudeCodeEvent);
      }
    }
  }
  return {
    events,
    counts: {
      records,
      byEvent: Object.fromEntries(byEvent),
      unknown: Object.fromEntries(unknown),
      notClaudeCode,
    },
  };
}
