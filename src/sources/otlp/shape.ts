/**
 * The normalised OTLP request: what `decodeOtlp` returns for both encodings (OTLP/JSON and binary protobuf), field
 * for field the messages of opentelemetry-proto v1 (proto/opentelemetry/proto/**), with every field present:
 * an absent scalar is its proto3 default (0, '', false, 0n), an absent repeated field is [], an absent resource or
 * scope is an empty one. Timestamps and 64-bit counts are `bigint` (unix nanos exceed 2^53); trace/span ids are
 * lowercase hex ('' when absent); attribute values are a tagged union. Profiles-only fields (`*_strindex`) are
 * dropped, as the spec tells non-profile receivers to do.
 */

/** An `AnyValue`. `empty` is an AnyValue with no field set (allowed by the spec, e.g. a null attribute). */
export type AnyValue =
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'int'; readonly value: bigint }
  | { readonly type: 'double'; readonly value: number }
  | { readonly type: 'bytes'; readonly value: Uint8Array }
  | { readonly type: 'array'; readonly values: readonly AnyValue[] }
  | { readonly type: 'kvlist'; readonly values: readonly KeyValue[] }
  | { readonly type: 'empty' };

export interface KeyValue {
  readonly key: string;
  readonly value: AnyValue;
}

export interface EntityRef {
  readonly schemaUrl: string;
  readonly type: string;
  readonly idKeys: readonly string[];
  readonly descriptionKeys: readonly string[];
}

export interface Resource {
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
  readonly entityRefs: readonly EntityRef[];
}

export interface InstrumentationScope {
  readonly name: string;
  readonly version: string;
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
}

// ── logs ──────────────────────────────────────────────────────────────────────────────────────────────────────

export interface LogsRequest {
  readonly resourceLogs: readonly ResourceLogs[];
}

export interface ResourceLogs {
  readonly resource: Resource;
  readonly scopeLogs: readonly ScopeLogs[];
  readonly schemaUrl: string;
}

export interface ScopeLogs {
  readonly scope: InstrumentationScope;
  readonly logRecords: readonly LogRecord[];
  readonly schemaUrl: string;
}

export interface LogRecord {
  readonly timeUnixNano: bigint;
  readonly observedTimeUnixNano: bigint;
  readonly severityNumber: number;
  readonly severityText: string;
  /** Null when the record has no body at all (distinct from an `empty` AnyValue). */
  readonly body: AnyValue | null;
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
  readonly flags: number;
  readonly traceId: string;
  readonly spanId: string;
  readonly eventName: string;
}

// ── metrics ───────────────────────────────────────────────────────────────────────────────────────────────────

export interface MetricsRequest {
  readonly resourceMetrics: readonly ResourceMetrics[];
}

export interface ResourceMetrics {
  readonly resource: Resource;
  readonly scopeMetrics: readonly ScopeMetrics[];
  readonly schemaUrl: string;
}

export interface ScopeMetrics {
  readonly scope: InstrumentationScope;
  readonly metrics: readonly Metric[];
  readonly schemaUrl: string;
}

/** AggregationTemporality: 0 unspecified, 1 delta, 2 cumulative. */
export const TEMPORALITY_DELTA = 1;
export const TEMPORALITY_CUMULATIVE = 2;

export type MetricData =
  | { readonly type: 'gauge'; readonly dataPoints: readonly NumberDataPoint[] }
  | {
      readonly type: 'sum';
      readonly dataPoints: readonly NumberDataPoint[];
      readonly aggregationTemporality: number;
      readonly isMonotonic: boolean;
    }
  | {
      readonly type: 'histogram';
      readonly dataPoints: readonly HistogramDataPoint[];
      readonly aggregationTemporality: number;
    }
  | {
      readonly type: 'exponentialHistogram';
      readonly dataPoints: readonly ExponentialHistogramDataPoint[];
      readonly aggregationTemporality: number;
    }
  | { readonly type: 'summary'; readonly dataPoints: readonly SummaryDataPoint[] };

export interface Metric {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  /** Null when no data field is set. */
  readonly data: MetricData | null;
  readonly metadata: readonly KeyValue[];
}

/** A number point's value: `asDouble` or `asInt`; null when neither is set. */
export type NumberValue =
  | { readonly type: 'double'; readonly value: number }
  | { readonly type: 'int'; readonly value: bigint };

export interface Exemplar {
  readonly filteredAttributes: readonly KeyValue[];
  readonly timeUnixNano: bigint;
  readonly value: NumberValue | null;
  readonly spanId: string;
  readonly traceId: string;
}

export interface NumberDataPoint {
  readonly attributes: readonly KeyValue[];
  readonly startTimeUnixNano: bigint;
  readonly timeUnixNano: bigint;
  readonly value: NumberValue | null;
  readonly exemplars: readonly Exemplar[];
  readonly flags: number;
}

export interface HistogramDataPoint {
  readonly attributes: readonly KeyValue[];
  readonly startTimeUnixNano: bigint;
  readonly timeUnixNano: bigint;
  readonly count: bigint;
  /** `optional` in the proto: null when not sent. */
  readonly sum: number | null;
  readonly bucketCounts: readonly bigint[];
  readonly explicitBounds: readonly number[];
  readonly exemplars: readonly Exemplar[];
  readonly flags: number;
  readonly min: number | null;
  readonly max: number | null;
}

export interface ExponentialBuckets {
  readonly offset: number;
  readonly bucketCounts: readonly bigint[];
}

export interface ExponentialHistogramDataPoint {
  readonly attributes: readonly KeyValue[];
  readonly startTimeUnixNano: bigint;
  readonly timeUnixNano: bigint;
  readonly count: bigint;
  readonly sum: number | null;
  readonly scale: number;
  readonly zeroCount: bigint;
  readonly positive: ExponentialBuckets;
  readonly negative: ExponentialBuckets;
  readonly flags: number;
  readonly exemplars: readonly Exemplar[];
  readonly min: number | null;
  readonly max: number | null;
  readonly zeroThreshold: number;
}

export interface ValueAtQuantile {
  readonly quantile: number;
  readonly value: number;
}

export interface SummaryDataPoint {
  readonly attributes: readonly KeyValue[];
  readonly startTimeUnixNano: bigint;
  readonly timeUnixNano: bigint;
  readonly count: bigint;
  readonly sum: number;
  readonly quantileValues: readonly ValueAtQuantile[];
  readonly flags: number;
}

// ── traces ────────────────────────────────────────────────────────────────────────────────────────────────────

export interface TracesRequest {
  readonly resourceSpans: readonly ResourceSpans[];
}

export interface ResourceSpans {
  readonly resource: Resource;
  readonly scopeSpans: readonly ScopeSpans[];
  readonly schemaUrl: string;
}

export interface ScopeSpans {
  readonly scope: InstrumentationScope;
  readonly spans: readonly Span[];
  readonly schemaUrl: string;
}

export interface SpanEvent {
  readonly timeUnixNano: bigint;
  readonly name: string;
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
}

export interface SpanLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState: string;
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
  readonly flags: number;
}

/** Status code: 0 unset, 1 ok, 2 error. */
export interface SpanStatus {
  readonly message: string;
  readonly code: number;
}

/** Span kind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
export interface Span {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState: string;
  readonly parentSpanId: string;
  readonly flags: number;
  readonly name: string;
  readonly kind: number;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
  readonly events: readonly SpanEvent[];
  readonly droppedEventsCount: number;
  readonly links: readonly SpanLink[];
  readonly droppedLinksCount: number;
  readonly status: SpanStatus;
}

// ── the three requests ────────────────────────────────────────────────────────────────────────────────────────

export type OtlpSignal = 'logs' | 'metrics' | 'traces';
export type OtlpEncoding = 'json' | 'protobuf';

/** The request type of each signal: `Export{Logs,Metrics,Trace}ServiceRequest`. */
export interface OtlpRequestOf {
  readonly logs: LogsRequest;
  readonly metrics: MetricsRequest;
  readonly traces: TracesRequest;
}

/** A sum's or histogram's aggregation temporality by name; null for an unspecified or unknown value. */
export function temporalityOf(value: number): 'delta' | 'cumulative' | null {
  return value === TEMPORALITY_DELTA
    ? 'delta'
    : value === TEMPORALITY_CUMULATIVE
      ? 'cumulative'
      : null;
}
