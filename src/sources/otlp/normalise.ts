/**
 * One walk over an Export*ServiceRequest in either dialect, producing the normalised shape of `shape.ts`:
 * - `json`: the output of JSON.parse on an OTLP/JSON body — lowerCamelCase keys (the proto field names are
 *   accepted too, as proto3 JSON parsers do), hex ids, base64 bytes, 64-bit integers as decimal strings or numbers,
 *   enums as integers or their names, doubles as numbers or "NaN"/"Infinity"/"-Infinity", null meaning absent;
 * - `protobuf`: protobufjs `toObject(…, { longs: BigInt, enums: Number })` of a decoded message — camelCase keys,
 *   bigint 64-bit fields, raw bytes.
 * Unknown keys are ignored. A value of the wrong type throws a `ShapeError` naming its path (`fields.ts`);
 * `decode.ts` turns it into `{ ok: false }`.
 */

import { describe, FieldReader, isObj, type Obj, ShapeError } from './fields.ts';
import type {
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
  Resource,
  Span,
  SpanEvent,
  SpanLink,
  SummaryDataPoint,
  TracesRequest,
} from './shape.ts';

/** AnyValue nesting deeper than this is refused (a hostile body must not exhaust the stack). */
const MAX_DEPTH = 64;

const ENUMS = {
  AggregationTemporality: [
    'AGGREGATION_TEMPORALITY_UNSPECIFIED',
    'AGGREGATION_TEMPORALITY_DELTA',
    'AGGREGATION_TEMPORALITY_CUMULATIVE',
  ],
  SpanKind: [
    'SPAN_KIND_UNSPECIFIED',
    'SPAN_KIND_INTERNAL',
    'SPAN_KIND_SERVER',
    'SPAN_KIND_CLIENT',
    'SPAN_KIND_PRODUCER',
    'SPAN_KIND_CONSUMER',
  ],
  StatusCode: ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'],
  SeverityNumber: [
    'SEVERITY_NUMBER_UNSPECIFIED',
    ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((level) =>
      ['', '2', '3', '4'].map((n) => `SEVERITY_NUMBER_${level}${n}`),
    ),
  ],
} as const;

const EMPTY_RESOURCE: Resource = { attributes: [], droppedAttributesCount: 0, entityRefs: [] };
const EMPTY_SCOPE: InstrumentationScope = {
  name: '',
  version: '',
  attributes: [],
  droppedAttributesCount: 0,
};

export class Normaliser extends FieldReader {
  logs(root: unknown): LogsRequest {
    const o = this.root(root);
    return {
      resourceLogs: this.list(o, 'resourceLogs', (r) => ({
        resource: this.resource(r),
        scopeLogs: this.list(r, 'scopeLogs', (s) => ({
          scope: this.scope(s),
          logRecords: this.list(s, 'logRecords', (l) => this.logRecord(l)),
          schemaUrl: this.str(s, 'schemaUrl'),
        })),
        schemaUrl: this.str(r, 'schemaUrl'),
      })),
    };
  }

  metrics(root: unknown): MetricsRequest {
    const o = this.root(root);
    return {
      resourceMetrics: this.list(o, 'resourceMetrics', (r) => ({
        resource: this.resource(r),
        scopeMetrics: this.list(r, 'scopeMetrics', (s) => ({
          scope: this.scope(s),
          metrics: this.list(s, 'metrics', (m) => this.metric(m)),
          schemaUrl: this.str(s, 'schemaUrl'),
        })),
        schemaUrl: this.str(r, 'schemaUrl'),
      })),
    };
  }

  traces(root: unknown): TracesRequest {
    const o = this.root(root);
    return {
      resourceSpans: this.list(o, 'resourceSpans', (r) => ({
        resource: this.resource(r),
        scopeSpans: this.list(r, 'scopeSpans', (s) => ({
          scope: this.scope(s),
          spans: this.list(s, 'spans', (sp) => this.span(sp)),
          schemaUrl: this.str(s, 'schemaUrl'),
        })),
        schemaUrl: this.str(r, 'schemaUrl'),
      })),
    };
  }

  // ── messages ────────────────────────────────────────────────────────────────────────────────────────────────

  private root(v: unknown): Obj {
    if (!isObj(v)) throw new ShapeError(`expected a JSON object, got ${describe(v)}`);
    return v;
  }

  private resource(parent: Obj): Resource {
    const r = this.msg(parent, 'resource');
    if (r === null) return EMPTY_RESOURCE;
    return this.in('.resource', () => ({
      attributes: this.attributes(r, 'attributes'),
      droppedAttributesCount: this.u32(r, 'droppedAttributesCount'),
      entityRefs: this.list(
        r,
        'entityRefs',
        (e): EntityRef => ({
          schemaUrl: this.str(e, 'schemaUrl'),
          type: this.str(e, 'type'),
          idKeys: this.strings(e, 'idKeys'),
          descriptionKeys: this.strings(e, 'descriptionKeys'),
        }),
      ),
    }));
  }

  private scope(parent: Obj): InstrumentationScope {
    const s = this.msg(parent, 'scope');
    if (s === null) return EMPTY_SCOPE;
    return this.in('.scope', () => ({
      name: this.str(s, 'name'),
      version: this.str(s, 'version'),
      attributes: this.attributes(s, 'attributes'),
      droppedAttributesCount: this.u32(s, 'droppedAttributesCount'),
    }));
  }

  private logRecord(l: Obj): LogRecord {
    const body = this.msg(l, 'body');
    return {
      timeUnixNano: this.u64(l, 'timeUnixNano'),
      observedTimeUnixNano: this.u64(l, 'observedTimeUnixNano'),
      severityNumber: this.enumOf(l, 'severityNumber', ENUMS.SeverityNumber),
      severityText: this.str(l, 'severityText'),
      body: body === null ? null : this.in('.body', () => this.anyValue(body, 0)),
      attributes: this.attributes(l, 'attributes'),
      droppedAttributesCount: this.u32(l, 'droppedAttributesCount'),
      flags: this.u32(l, 'flags'),
      traceId: this.id(l, 'traceId', 16),
      spanId: this.id(l, 'spanId', 8),
      eventName: this.str(l, 'eventName'),
    };
  }

  private metric(m: Obj): Metric {
    return {
      name: this.str(m, 'name'),
      description: this.str(m, 'description'),
      unit: this.str(m, 'unit'),
      data: this.metricData(m),
      metadata: this.attributes(m, 'metadata'),
    };
  }

  private metricData(m: Obj): MetricData | null {
    const gauge = this.msg(m, 'gauge');
    if (gauge !== null) {
      return this.in('.gauge', () => ({
        type: 'gauge',
        dataPoints: this.list(gauge, 'dataPoints', (p) => this.numberPoint(p)),
      }));
    }
    const sum = this.msg(m, 'sum');
    if (sum !== null) {
      return this.in('.sum', () => ({
        type: 'sum',
        dataPoints: this.list(sum, 'dataPoints', (p) => this.numberPoint(p)),
        aggregationTemporality: this.enumOf(
          sum,
          'aggregationTemporality',
          ENUMS.AggregationTemporality,
        ),
        isMonotonic: this.bool(sum, 'isMonotonic'),
      }));
    }
    const histogram = this.msg(m, 'histogram');
    if (histogram !== null) {
      return this.in('.histogram', () => ({
        type: 'histogram',
        dataPoints: this.list(histogram, 'dataPoints', (p) => this.histogramPoint(p)),
        aggregationTemporality: this.enumOf(
          histogram,
          'aggregationTemporality',
          ENUMS.AggregationTemporality,
        ),
      }));
    }
    const exp = this.msg(m, 'exponentialHistogram');
    if (exp !== null) {
      return this.in('.exponentialHistogram', () => ({
        type: 'exponentialHistogram',
        dataPoints: this.list(exp, 'dataPoints', (p) => this.exponentialPoint(p)),
        aggregationTemporality: this.enumOf(
          exp,
          'aggregationTemporality',
          ENUMS.AggregationTemporality,
        ),
      }));
    }
    const summary = this.msg(m, 'summary');
    if (summary !== null) {
      return this.in('.summary', () => ({
        type: 'summary',
        dataPoints: this.list(summary, 'dataPoints', (p) => this.summaryPoint(p)),
      }));
    }
    return null;
  }

  private numberValue(p: Obj): NumberValue | null {
    if (this.has(p, 'asDouble')) return { type: 'double', value: this.double(p, 'asDouble') };
    if (this.has(p, 'asInt')) return { type: 'int', value: this.i64(p, 'asInt') };
    return null;
  }

  private exemplars(p: Obj): Exemplar[] {
    return this.list(p, 'exemplars', (e) => ({
      filteredAttributes: this.attributes(e, 'filteredAttributes'),
      timeUnixNano: this.u64(e, 'timeUnixNano'),
      value: this.numberValue(e),
      spanId: this.id(e, 'spanId', 8),
      traceId: this.id(e, 'traceId', 16),
    }));
  }

  private numberPoint(p: Obj): NumberDataPoint {
    return {
      attributes: this.attributes(p, 'attributes'),
      startTimeUnixNano: this.u64(p, 'startTimeUnixNano'),
      timeUnixNano: this.u64(p, 'timeUnixNano'),
      value: this.numberValue(p),
      exemplars: this.exemplars(p),
      flags: this.u32(p, 'flags'),
    };
  }

  private histogramPoint(p: Obj): HistogramDataPoint {
    return {
      attributes: this.attributes(p, 'attributes'),
      startTimeUnixNano: this.u64(p, 'startTimeUnixNano'),
      timeUnixNano: this.u64(p, 'timeUnixNano'),
      count: this.u64(p, 'count'),
      sum: this.optionalDouble(p, 'sum'),
      bucketCounts: this.scalars(p, 'bucketCounts', (v) => this.u64Value(v)),
      explicitBounds: this.scalars(p, 'explicitBounds', (v) => this.doubleValue(v)),
      exemplars: this.exemplars(p),
      flags: this.u32(p, 'flags'),
      min: this.optionalDouble(p, 'min'),
      max: this.optionalDouble(p, 'max'),
    };
  }

  private buckets(p: Obj, field: string): ExponentialBuckets {
    const b = this.msg(p, field);
    if (b === null) return { offset: 0, bucketCounts: [] };
    return this.in(`.${field}`, () => ({
      offset: this.i32(b, 'offset'),
      bucketCounts: this.scalars(b, 'bucketCounts', (v) => this.u64Value(v)),
    }));
  }

  private exponentialPoint(p: Obj): ExponentialHistogramDataPoint {
    return {
      attributes: this.attributes(p, 'attributes'),
      startTimeUnixNano: this.u64(p, 'startTimeUnixNano'),
      timeUnixNano: this.u64(p, 'timeUnixNano'),
      count: this.u64(p, 'count'),
      sum: this.optionalDouble(p, 'sum'),
      scale: this.i32(p, 'scale'),
      zeroCount: this.u64(p, 'zeroCount'),
      positive: this.buckets(p, 'positive'),
      negative: this.buckets(p, 'negative'),
      flags: this.u32(p, 'flags'),
      exemplars: this.exemplars(p),
      min: this.optionalDouble(p, 'min'),
      max: this.optionalDouble(p, 'max'),
      zeroThreshold: this.has(p, 'zeroThreshold') ? this.double(p, 'zeroThreshold') : 0,
    };
  }

  private summaryPoint(p: Obj): SummaryDataPoint {
    return {
      attributes: this.attributes(p, 'attributes'),
      startTimeUnixNano: this.u64(p, 'startTimeUnixNano'),
      timeUnixNano: this.u64(p, 'timeUnixNano'),
      count: this.u64(p, 'count'),
      sum: this.has(p, 'sum') ? this.double(p, 'sum') : 0,
      quantileValues: this.list(p, 'quantileValues', (q) => ({
        quantile: this.has(q, 'quantile') ? this.double(q, 'quantile') : 0,
        value: this.has(q, 'value') ? this.double(q, 'value') : 0,
      })),
      flags: this.u32(p, 'flags'),
    };
  }

  private span(s: Obj): Span {
    const status = this.msg(s, 'status');
    return {
      traceId: this.id(s, 'traceId', 16),
      spanId: this.id(s, 'spanId', 8),
      traceState: this.str(s, 'traceState'),
      parentSpanId: this.id(s, 'parentSpanId', 8),
      flags: this.u32(s, 'flags'),
      name: this.str(s, 'name'),
      kind: this.enumOf(s, 'kind', ENUMS.SpanKind),
      startTimeUnixNano: this.u64(s, 'startTimeUnixNano'),
      endTimeUnixNano: this.u64(s, 'endTimeUnixNano'),
      attributes: this.attributes(s, 'attributes'),
      droppedAttributesCount: this.u32(s, 'droppedAttributesCount'),
      events: this.list(
        s,
        'events',
        (e): SpanEvent => ({
          timeUnixNano: this.u64(e, 'timeUnixNano'),
          name: this.str(e, 'name'),
          attributes: this.attributes(e, 'attributes'),
          droppedAttributesCount: this.u32(e, 'droppedAttributesCount'),
        }),
      ),
      droppedEventsCount: this.u32(s, 'droppedEventsCount'),
      links: this.list(
        s,
        'links',
        (l): SpanLink => ({
          traceId: this.id(l, 'traceId', 16),
          spanId: this.id(l, 'spanId', 8),
          traceState: this.str(l, 'traceState'),
          attributes: this.attributes(l, 'attributes'),
          droppedAttributesCount: this.u32(l, 'droppedAttributesCount'),
          flags: this.u32(l, 'flags'),
        }),
      ),
      droppedLinksCount: this.u32(s, 'droppedLinksCount'),
      status:
        status === null
          ? { message: '', code: 0 }
          : this.in('.status', () => ({
              message: this.str(status, 'message'),
              code: this.enumOf(status, 'code', ENUMS.StatusCode),
            })),
    };
  }

  private attributes(o: Obj, field: string): KeyValue[] {
    return this.list(o, field, (kv) => this.keyValue(kv, 0));
  }

  private keyValue(kv: Obj, depth: number): KeyValue {
    const value = this.msg(kv, 'value');
    return {
      key: this.str(kv, 'key'),
      value:
        value === null ? { type: 'empty' } : this.in('.value', () => this.anyValue(value, depth)),
    };
  }

  private anyValue(v: Obj, depth: number): AnyValue {
    if (depth > MAX_DEPTH) throw new ShapeError(`AnyValue nested deeper than ${MAX_DEPTH} levels`);
    if (this.has(v, 'stringValue')) return { type: 'string', value: this.str(v, 'stringValue') };
    if (this.has(v, 'boolValue')) return { type: 'bool', value: this.bool(v, 'boolValue') };
    if (this.has(v, 'intValue')) return { type: 'int', value: this.i64(v, 'intValue') };
    if (this.has(v, 'doubleValue')) return { type: 'double', value: this.double(v, 'doubleValue') };
    if (this.has(v, 'bytesValue')) return { type: 'bytes', value: this.bytes(v, 'bytesValue') };
    const array = this.msg(v, 'arrayValue');
    if (array !== null) {
      return this.in('.arrayValue', () => ({
        type: 'array',
        values: this.list(array, 'values', (e) => this.anyValue(e, depth + 1)),
      }));
    }
    const kvlist = this.msg(v, 'kvlistValue');
    if (kvlist !== null) {
      return this.in('.kvlistValue', () => ({
        type: 'kvlist',
        values: this.list(kvlist, 'values', (e) => this.keyValue(e, depth + 1)),
      }));
    }
    return { type: 'empty' };
  }
}
