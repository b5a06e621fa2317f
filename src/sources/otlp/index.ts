/**
 * OTLP sources: decoding OTLP/HTTP request bodies (JSON or protobuf) into one normalised shape, and reading Claude
 * Code telemetry (events and `claude_code.*` metrics) and OpenTelemetry GenAI usage (spans and
 * `gen_ai.client.token.usage`) out of them. Pure: no I/O beyond reading the vendored .proto schema once.
 */
export {
  type HeaderInput,
  headerAttributes,
  type IdentityOrigin,
  type SourcedValue,
  TELEMETRY_DIMENSION_KEYS,
  TELEMETRY_IDENTITY_KEYS,
  type TelemetryIdentity,
} from './attribution.ts';
export {
  CLAUDE_CODE_EVENTS_SCOPE,
  CLAUDE_CODE_METRICS_SCOPE,
  CLAUDE_CODE_PREFIX,
  type ClaudeCodeApiError,
  type ClaudeCodeApiRefusal,
  type ClaudeCodeApiRequest,
  type ClaudeCodeApiRetriesExhausted,
  type ClaudeCodeAssistantResponse,
  type ClaudeCodeCommon,
  type ClaudeCodeContext,
  type ClaudeCodeEvent,
  type ClaudeCodeEventCommon,
  type ClaudeCodeMetricDelta,
  type ClaudeCodeMetricValue,
  type ClaudeCodeObservation,
  type ClaudeCodeOtherEvent,
  type ClaudeCodeRequestFacets,
  type ClaudeCodeToolDecision,
  type ClaudeCodeToolResult,
  type ClaudeCodeUserPrompt,
  isClaudeCodeScope,
} from './claude-code.ts';
export * from './claude-code-events.ts';
export * from './claude-code-metrics.ts';
export {
  type CumulativeDelta,
  type CumulativeOutcome,
  type CumulativePoint,
  type CumulativeState,
  type CumulativeStream,
  CumulativeTracker,
  seriesIdentity,
} from './cumulative.ts';
export { type DecodeResult, decodeOtlp } from './decode.ts';
export {
  GENAI_TOKEN_USAGE_METRIC,
  type GenAiContext,
  type GenAiMetricsResult,
  type GenAiMetricUsage,
  type GenAiSpanUsage,
  type GenAiTokens,
  type GenAiTracesResult,
  type GenAiUsage,
  type GenAiUsageCommon,
  interpretGenAiTraces,
} from './genai.ts';
export * from './genai-metrics.ts';
export * from './receiver.ts';
export type {
  AnyValue,
  EntityRef,
  Exemplar,
  ExponentialBuckets,
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  InstrumentationScope,
  KeyValue,
  LogRecord,
  LogsRequest,
  Metric,
  MetricData,
  MetricsRequest,
  NumberDataPoint,
  NumberValue,
  OtlpRequestOf,
  Resource,
  ResourceLogs,
  ResourceMetrics,
  ResourceSpans,
  ScopeLogs,
  ScopeMetrics,
  ScopeSpans,
  Span,
  SpanEvent,
  SpanLink,
  SpanStatus,
  SummaryDataPoint,
  TracesRequest,
  ValueAtQuantile,
} from './shape.ts';
export { TEMPORALITY_CUMULATIVE, TEMPORALITY_DELTA } from './shape.ts';
export { type PlainValue, plainValue } from './values.ts';
