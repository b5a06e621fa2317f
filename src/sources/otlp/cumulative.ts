/**
 * Cumulative → delta. A CUMULATIVE stream repeats its running total in every export, from a fixed
 * `startTimeUnixNano`; a new process starts a new stream (new start time) from zero. `CumulativeTracker` keeps the
 * last total per (series, start time) and answers the increase since then, so re-exports, exporter retries and
 * restarts never count anything twice:
 *
 * - first point of a series never seen → its whole total is new (everything since its start time);
 * - same start, later time → total − previous total (`increase`), or, if a monotonic total went down, the whole
 *   new total (`reset`: the counter was reset without a new start time);
 * - a new start time → a new stream counted from zero (`restart`); the old stream's state is kept (a few start
 *   times per series) so its late exports still subtract correctly;
 * - a point no newer than the last one of its stream → nothing (`duplicate` when equal, `stale` when not), except
 *   a larger monotonic total at the same time: a later export in the same clock tick (`increase`).
 *
 * Values are exact decimal strings (`decimal.ts`), one or more per point (a histogram's count and sum).
 * The state lives in memory. To keep it across receiver restarts, and to advance it only once the rows it produced
 * are stored, a caller works on a `stage()`: the stage reads through to the tracker, `changes()` lists the streams it
 * moved (to persist with the rows, in one transaction), `commit()` applies them to the tracker after the write, and a
 * stage simply dropped (a failed write) leaves the tracker as it was, so a retry counts the same increase again.
 * `seed()` loads persisted streams; `snapshot()`/`CumulativeTracker.restore()` serialise the whole state.
 */
import { compareDecimal, subtractDecimal } from './decimal.ts';
import type { AnyValue, KeyValue } from './shape.ts';

export interface CumulativePoint {
  readonly startTimeUnixNano: bigint;
  readonly timeUnixNano: bigint;
  readonly values: readonly string[];
}

export type CumulativeOutcome = 'first' | 'increase' | 'reset' | 'restart' | 'duplicate' | 'stale';

export interface CumulativeDelta {
  readonly outcome: CumulativeOutcome;
  /** The increase of each value; all '0' for `duplicate` and `stale`. */
  readonly values: readonly string[];
}

interface Stream {
  time: bigint;
  values: readonly string[];
}

/** JSON-safe state: `[series, [[start, time, values], …]]` with the nanos as decimal strings. */
export interface CumulativeState {
  readonly version: 1;
  readonly series: readonly (readonly [
    string,
    readonly (readonly [string, string, readonly string[]])[],
  ])[];
}

/** The last point of one stream: what `changes()` lists and `seed()` takes. */
export interface CumulativeStream {
  readonly series: string;
  readonly startTimeUnixNano: bigint;
  readonly timeUnixNano: bigint;
  readonly values: readonly string[];
}

export class CumulativeTracker {
  private readonly series = new Map<string, Map<bigint, Stream>>();
  private readonly maxStarts: number;
  /** Set on a stage: the tracker it reads through to and commits into. */
  private parent: CumulativeTracker | null = null;
  /** On a stage: the streams `delta` moved, as `series` → start times. */
  private readonly touched = new Map<string, Set<bigint>>();

  constructor(options: { readonly maxStartsPerSeries?: number } = {}) {
    this.maxStarts = Math.max(1, options.maxStartsPerSeries ?? 4);
  }

  /**
   * A stage over this tracker: `delta` on it sees this tracker's state and its own earlier points, and changes
   * nothing here until `commit()`. One stage at a time: a commit replaces the series it touched wholesale.
   */
  stage(): CumulativeTracker {
    const staged = new CumulativeTracker({ maxStartsPerSeries: this.maxStarts });
    staged.parent = this;
    return staged;
  }

  /** On a stage: the last point of every stream its `delta` calls moved (new streams included). */
  changes(): CumulativeStream[] {
    const out: CumulativeStream[] = [];
    for (const [series, starts] of this.touched) {
      const streams = this.series.get(series);
      for (const start of starts) {
        const s = streams?.get(start);
        // Evicted again within the stage (more start times than kept): nothing to persist.
        if (s === undefined) continue;
        out.push({ series, startTimeUnixNano: start, timeUnixNano: s.time, values: [...s.values] });
      }
    }
    return out;
  }

  /** On a stage: applies it to the tracker it was taken from; the stage is empty afterwards. */
  commit(): void {
    const parent = this.parent;
    if (parent === null) throw new Error('commit() is for a stage');
    for (const [series, starts] of this.series) parent.series.set(series, starts);
    this.series.clear();
    this.touched.clear();
  }

  /** Loads streams (e.g. persisted ones), keeping the newest start times of each series; a known stream wins. */
  seed(streams: Iterable<CumulativeStream>): void {
    for (const s of streams) {
      let starts = this.series.get(s.series);
      if (starts === undefined) {
        starts = new Map();
        this.series.set(s.series, starts);
      }
      if (starts.has(s.startTimeUnixNano)) continue;
      this.remember(starts, {
        startTimeUnixNano: s.startTimeUnixNano,
        timeUnixNano: s.timeUnixNano,
        values: s.values,
      });
    }
  }

  /** The streams of a series, read-only (a stage reads through to its tracker). */
  private view(series: string): Map<bigint, Stream> | undefined {
    return this.series.get(series) ?? this.parent?.view(series);
  }

  /** The streams of a series to change: on a stage, a copy of the tracker's, made on first touch. */
  private own(series: string): Map<bigint, Stream> {
    let starts = this.series.get(series);
    if (starts === undefined) {
      const base = this.parent?.view(series);
      starts = new Map(
        base === undefined
          ? []
          : [...base].map(([start, s]) => [start, { time: s.time, values: s.values }] as const),
      );
      this.series.set(series, starts);
    }
    return starts;
  }

  private touch(series: string, start: bigint): void {
    if (this.parent === null) return;
    let starts = this.touched.get(series);
    if (starts === undefined) {
      starts = new Set();
      this.touched.set(series, starts);
    }
    starts.add(start);
  }

  /** Number of (series, start time) streams held. */
  get size(): number {
    let n = 0;
    for (const starts of this.series.values()) n += starts.size;
    return n;
  }

  /** The time of the last point seen of the stream (series, start time); null when none was. */
  lastTime(series: string, startTimeUnixNano: bigint): bigint | null {
    return this.view(series)?.get(startTimeUnixNano)?.time ?? null;
  }

  /**
   * The increase a cumulative point adds. `series` identifies the stream apart from its start time (see
   * `seriesIdentity`); `monotonic` false disables reset detection (a decrease is a negative delta).
   */
  delta(series: string, point: CumulativePoint, monotonic = true): CumulativeDelta {
    const known = this.view(series)?.get(point.startTimeUnixNano);
    // Two exports in the same clock tick (the JS SDK's clock has millisecond resolution) carry the same time; of
    // monotonic totals the larger one is the later export, so it adds its increase.
    const sameTickLater =
      monotonic &&
      known !== undefined &&
      point.timeUnixNano === known.time &&
      point.values.length === known.values.length &&
      point.values.every((v, i) => compareDecimal(v, known.values[i] ?? '0') >= 0) &&
      point.values.some((v, i) => compareDecimal(v, known.values[i] ?? '0') > 0);
    if (known !== undefined && point.timeUnixNano <= known.time && !sameTickLater) {
      const same =
        point.timeUnixNano === known.time &&
        point.values.length === known.values.length &&
        point.values.every((v, i) => compareDecimal(v, known.values[i] ?? '0') === 0);
      return { outcome: same ? 'duplicate' : 'stale', values: point.values.map(() => '0') };
    }
    const starts = this.own(series);
    this.touch(series, point.startTimeUnixNano);
    const previous = starts.get(point.startTimeUnixNano);
    if (previous === undefined) {
      const later = [...starts.keys()].every((s) => s < point.startTimeUnixNano);
      const outcome: CumulativeOutcome = starts.size > 0 && later ? 'restart' : 'first';
      this.remember(starts, point);
      return { outcome, values: [...point.values] };
    }
    const decreased =
      monotonic && point.values.some((v, i) => compareDecimal(v, previous.values[i] ?? '0') < 0);
    previous.time = point.timeUnixNano;
    const before = previous.values;
    previous.values = [...point.values];
    if (decreased) return { outcome: 'reset', values: [...point.values] };
    return {
      outcome: 'increase',
      values: point.values.map((v, i) => subtractDecimal(v, before[i] ?? '0')),
    };
  }

  private remember(starts: Map<bigint, Stream>, point: CumulativePoint): void {
    starts.set(point.startTimeUnixNano, { time: point.timeUnixNano, values: [...point.values] });
    while (starts.size > this.maxStarts) {
      let oldest: bigint | null = null;
      for (const start of starts.keys()) if (oldest === null || start < oldest) oldest = start;
      if (oldest !== null) starts.delete(oldest);
    }
  }

  /** Forgets streams whose last point is older than `olderThanUnixNano`; returns how many. */
  prune(olderThanUnixNano: bigint): number {
    let dropped = 0;
    for (const [key, starts] of this.series) {
      for (const [start, stream] of starts) {
        if (stream.time < olderThanUnixNano) {
          starts.delete(start);
          dropped++;
        }
      }
      if (starts.size === 0) this.series.delete(key);
    }
    return dropped;
  }

  snapshot(): CumulativeState {
    return {
      version: 1,
      series: [...this.series].map(
        ([key, starts]) =>
          [
            key,
            [...starts].map(
              ([start, s]) => [start.toString(), s.time.toString(), [...s.values]] as const,
            ),
          ] as const,
      ),
    };
  }

  static restore(
    state: CumulativeState,
    options: { readonly maxStartsPerSeries?: number } = {},
  ): CumulativeTracker {
    const tracker = new CumulativeTracker(options);
    for (const [key, starts] of state.series) {
      const map = new Map<bigint, Stream>();
      for (const [start, time, values] of starts) {
        map.set(BigInt(start), { time: BigInt(time), values: [...values] });
      }
      tracker.series.set(key, map);
    }
    return tracker;
  }
}

function canonical(v: AnyValue): string {
  switch (v.type) {
    case 'string':
      return `s${JSON.stringify(v.value)}`;
    case 'bool':
      return v.value ? 'T' : 'F';
    case 'int':
      return `i${v.value}`;
    case 'double':
      return `d${v.value}`;
    case 'bytes':
      return `b${Buffer.from(v.value).toString('base64')}`;
    case 'array':
      return `[${v.values.map(canonical).join(',')}]`;
    case 'kvlist':
      return `{${canonicalAttributes(v.values)}}`;
    case 'empty':
      return '-';
  }
}

/** Attributes in a canonical, order-independent text form. */
export function canonicalAttributes(attrs: readonly KeyValue[]): string {
  return attrs
    .map((kv) => `${JSON.stringify(kv.key)}=${canonical(kv.value)}`)
    .sort()
    .join(',');
}

/**
 * The identity of a metric stream apart from its start time: resource attributes, scope, metric name and the
 * point's attributes, plus `extra` (e.g. the identity headers, which are not in the payload but tell two users'
 * otherwise identical streams apart).
 */
export function seriesIdentity(parts: {
  readonly resource: readonly KeyValue[];
  readonly scope: string;
  readonly metric: string;
  readonly attributes: readonly KeyValue[];
  readonly extra?: string;
}): string {
  return [
    canonicalAttributes(parts.resource),
    JSON.stringify(parts.scope),
    JSON.stringify(parts.metric),
    canonicalAttributes(parts.attributes),
    parts.extra ?? '',
  ].join('|');
}
