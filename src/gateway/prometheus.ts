/**
 * The gateway's `GET /metrics` in the Prometheus text exposition format (0.0.4): what it served, by team, model and
 * operation (calls, errors, tokens, list cost, latency), what it refused and why, its budgets and rate limits as the
 * counters hold them, its spool and shared keys, and the process itself (`process_*`, the names Prometheus client
 * libraries use). Money stays exact here: costs are summed in pico-USD and written as exact decimal strings
 * (Prometheus reads every sample as a float; that conversion is its own).
 *
 * Per-call counting is a map update on the request path; the text is built only when scraped. Series by team ×
 * model × operation are capped (`maxSeries`): a caller sending ever new model ids cannot grow the process without
 * bound; past the cap, new combinations count under `model="(other)"`.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { formatUsd } from '../core/index.ts';
import type { GovernorStatus } from './governance/index.ts';
import type { KeySyncStats } from './key-sync.ts';
import type { SpoolStats } from './spool.ts';

/** One finished call, as the gateway records it. */
export interface ObservedCall {
  readonly team: string | null;
  readonly model: string;
  readonly operation: string;
  /** Bedrock's exception name (or the gateway's, e.g. `StreamInterrupted`), null on success. */
  readonly error: string | null;
  readonly tokens: {
    readonly input: number;
    readonly output: number;
    readonly cacheRead: number;
    readonly cacheWrite5m: number;
    readonly cacheWrite1h: number;
  };
  /** List cost in pico-USD; null when the model has no price. */
  readonly costPicos: bigint | null;
  readonly latencyMs: number;
}

/** Upper bounds (seconds) of the call-duration histogram: from a short JSON answer to a long stream. */
export const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] as const;
export const OTHER_MODEL = '(other)';

interface Series {
  readonly team: string;
  readonly model: string;
  readonly operation: string;
  calls: number;
  unpriced: number;
  readonly errors: Map<string, number>;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cost: bigint;
  /** Calls per DURATION_BUCKETS bound they first fit under, then those above the last (not cumulative). */
  readonly buckets: number[];
  durationMs: number;
}

export interface CallMetrics {
  /**
   * Counts a call. A call that billed nothing (an error before inference: a made-up model id, say) counts under
   * its team × model × operation only if that series exists already, else under (other): callers cannot grow the
   * series, or fill the cap, with calls Bedrock refused.
   */
  observe(call: ObservedCall): void;
  series(): readonly Readonly<Series>[];
}

export function createCallMetrics(maxSeries = 2000): CallMetrics {
  // team → operation → model → series: three lookups of strings the call already holds, no key built per call.
  const index = new Map<string, Map<string, Map<string, Series>>>();
  const all: Series[] = [];
  const find = (team: string, operation: string, model: string): Series | undefined =>
    index.get(team)?.get(operation)?.get(model);
  const open = (team: string, operation: string, model: string): Series => {
    const s: Series = {
      team,
      model,
      operation,
      calls: 0,
      unpriced: 0,
      errors: new Map(),
      input: 0,
      output: 0,
      cacheRead: 0,
      cacheWrite5m: 0,
      cacheWrite1h: 0,
      cost: 0n,
      buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0),
      durationMs: 0,
    };
    let ops = index.get(team);
    if (ops === undefined) {
      ops = new Map();
      index.set(team, ops);
    }
    let models = ops.get(operation);
    if (models === undefined) {
      models = new Map();
      ops.set(operation, models);
    }
    models.set(model, s);
    all.push(s);
    return s;
  };
  return {
    observe(call) {
      const team = call.team ?? '(none)';
      const t = call.tokens;
      let s = find(team, call.operation, call.model);
      if (s === undefined) {
        const billed = t.input + t.output + t.cacheRead + t.cacheWrite5m + t.cacheWrite1h > 0;
        s =
          all.length < maxSeries && billed
            ? open(team, call.operation, call.model)
            : (find(team, call.operation, OTHER_MODEL) ?? open(team, call.operation, OTHER_MODEL));
      }
      s.calls++;
      if (call.error !== null) s.errors.set(call.error, (s.errors.get(call.error) ?? 0) + 1);
      s.input += t.input;
      s.output += t.output;
      s.cacheRead += t.cacheRead;
      s.cacheWrite5m += t.cacheWrite5m;
      s.cacheWrite1h += t.cacheWrite1h;
      if (call.costPicos === null) s.unpriced++;
      else if (call.costPicos !== 0n) s.cost += call.costPicos;
      // One bucket per call (the first bound it fits under); the exposition makes them cumulative.
      const seconds = call.latencyMs / 1000;
      let b = 0;
      while (b < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[b] as number)) b++;
      (s.buckets[b] as number)++;
      s.durationMs += call.latencyMs;
    },
    series: () => all,
  };
}

/** What one scrape shows besides the calls. */
export interface MetricsSnapshot {
  readonly requests: number;
  readonly recorded: number;
  readonly rejected: Readonly<Record<string, number>>;
  readonly upstreamErrors: number;
  readonly settleFailures: number;
  readonly draining: number;
  readonly closedStreamsCut: number;
  readonly calls: CallMetrics;
  readonly governor: GovernorStatus;
  readonly spool?: SpoolStats | undefined;
  readonly sharedKeys?: KeySyncStats | undefined;
  readonly process: ProcessSample;
}

export interface ProcessSample {
  readonly cpuSeconds: number;
  readonly residentBytes: number;
  readonly heapBytes: number;
  readonly startTimeSeconds: number;
  /** Event-loop delay, seconds: p50, p99 and max since the last scrape. */
  readonly loopDelay: { readonly p50: number; readonly p99: number; readonly max: number };
}

/** Samples the process for a scrape: CPU, memory, start time, and the event-loop delay since the last scrape. */
export function createProcessSampler(): { sample(): ProcessSample; stop(): void } {
  const delay = monitorEventLoopDelay({ resolution: 20 });
  delay.enable();
  const startTimeSeconds = Math.round(Date.now() / 1000 - process.uptime());
  return {
    sample() {
      const cpu = process.cpuUsage();
      const mem = process.memoryUsage();
      const s = {
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        residentBytes: mem.rss,
        heapBytes: mem.heapUsed,
        startTimeSeconds,
        loopDelay: {
          p50: delay.percentile(50) / 1e9,
          p99: delay.percentile(99) / 1e9,
          max: delay.max / 1e9,
        },
      };
      delay.reset();
      return s;
    },
    stop: () => delay.disable(),
  };
}

/** A label value as the exposition format writes it: backslash, double quote and newline escaped. */
const esc = (v: string): string =>
  v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
const labels = (l: Readonly<Record<string, string>>): string => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
};
/** `12.5` stays `12.5`; money comes as exact decimal strings already. */
const num = (v: number | string): string => (typeof v === 'string' ? v : String(v));

/** Renders one scrape. */
export function renderMetrics(m: MetricsSnapshot): string {
  const out: string[] = [];
  const family = (
    name: string,
    type: 'counter' | 'gauge' | 'histogram',
    help: string,
    samples: readonly (readonly [Readonly<Record<string, string>>, number | string, string?])[],
  ) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v, suffix] of samples) out.push(`${name}${suffix ?? ''}${labels(l)} ${num(v)}`);
  };
  /** A family of one unlabelled sample. */
  const one = (name: string, type: 'counter' | 'gauge', help: string, value: number | string) =>
    family(name, type, help, [[{}, value]]);

  one('tokenledger_gateway_requests_total', 'counter', 'HTTP requests received.', m.requests);
  one(
    'tokenledger_gateway_recorded_total',
    'counter',
    'Model calls recorded for the ledger (spooled).',
    m.recorded,
  );
  family(
    'tokenledger_gateway_rejected_total',
    'counter',
    'Requests refused by the gateway before or instead of Bedrock, by reason.',
    Object.entries(m.rejected).map(([reason, n]) => [{ reason }, n] as const),
  );
  one(
    'tokenledger_gateway_upstream_errors_total',
    'counter',
    'Calls Bedrock could not be reached for or answered with an error.',
    m.upstreamErrors,
  );
  one(
    'tokenledger_gateway_settle_failures_total',
    'counter',
    'Recorded calls whose budget counters could not be settled (counter store unreachable).',
    m.settleFailures,
  );
  one(
    'tokenledger_gateway_draining_streams',
    'gauge',
    'Streams read to their end, for their exact usage, after their client left.',
    m.draining,
  );
  one(
    'tokenledger_gateway_closed_streams_cut_total',
    'counter',
    'Streams cut when their client left because drainClosedStreams were already draining (usage then unknown).',
    m.closedStreamsCut,
  );

  const series = m.calls.series();
  const key = (s: Series) => ({ team: s.team, model: s.model, operation: s.operation });
  family(
    'tokenledger_gateway_calls_total',
    'counter',
    'Model calls forwarded and recorded, by team, model served and operation.',
    series.map((s) => [key(s), s.calls] as const),
  );
  family(
    'tokenledger_gateway_call_errors_total',
    'counter',
    'Recorded calls that ended in an error, by error.',
    series.flatMap((s) => [...s.errors].map(([error, n]) => [{ ...key(s), error }, n] as const)),
  );
  family(
    'tokenledger_gateway_tokens_total',
    'counter',
    'Tokens Bedrock billed, by type.',
    series.flatMap((s) =>
      (
        [
          ['input', s.input],
          ['output', s.output],
          ['cache_read', s.cacheRead],
          ['cache_write_5m', s.cacheWrite5m],
          ['cache_write_1h', s.cacheWrite1h],
        ] as const
      ).map(([type, n]) => [{ ...key(s), type }, n] as const),
    ),
  );
  family(
    'tokenledger_gateway_cost_usd_total',
    'counter',
    'List cost of the calls in USD, from the price catalog (unpriced calls excluded).',
    series.map((s) => [key(s), formatUsd(s.cost)] as const),
  );
  family(
    'tokenledger_gateway_unpriced_calls_total',
    'counter',
    'Calls to models without a catalog price (their cost is not in the cost total).',
    series.map((s) => [key(s), s.unpriced] as const),
  );
  out.push(
    '# HELP tokenledger_gateway_call_duration_seconds Time from the request to the end of the answer.',
    '# TYPE tokenledger_gateway_call_duration_seconds histogram',
  );
  for (const s of series) {
    const l = key(s);
    let cumulative = 0;
    DURATION_BUCKETS.forEach((le, i) => {
      cumulative += s.buckets[i] as number;
      out.push(
        `tokenledger_gateway_call_duration_seconds_bucket${labels({ ...l, le: String(le) })} ${cumulative}`,
      );
    });
    out.push(
      `tokenledger_gateway_call_duration_seconds_bucket${labels({ ...l, le: '+Inf' })} ${s.calls}`,
      `tokenledger_gateway_call_duration_seconds_sum${labels(l)} ${s.durationMs / 1000}`,
      `tokenledger_gateway_call_duration_seconds_count${labels(l)} ${s.calls}`,
    );
  }

  const g = m.governor;
  type Budget = GovernorStatus['budgets'][number];
  const budget = (b: Budget) => ({
    budget: b.budget,
    scope: b.label,
    period: b.period,
    window: b.window,
    enforce: b.enforce,
  });
  const budgetGauges: readonly [string, string, (b: Budget) => string | null][] = [
    ['limit', 'A budget counter’s limit in USD.', (b) => b.limitUsd],
    ['soft_limit', 'A budget counter’s soft limit (alert, downgrade) in USD.', (b) => b.softUsd],
    ['spent', 'Spent in the budget’s current period or window, in USD.', (b) => b.spentUsd],
    ['reserved', 'Held by calls in flight (their worst case), in USD.', (b) => b.reservedUsd],
    ['remaining', 'Limit minus spent minus reserved, in USD.', (b) => b.remainingUsd],
  ];
  for (const [what, help, value] of budgetGauges)
    family(
      `tokenledger_budget_${what}_usd`,
      'gauge',
      help,
      g.budgets.flatMap((b) => {
        const v = value(b);
        return v === null ? [] : [[budget(b), v] as const];
      }),
    );
  type Limit = GovernorStatus['limits'][number];
  const limitGauges: readonly [string, string, (l: Limit) => number][] = [
    ['max', 'A rate limit per minute (requests or tokens).', (l) => l.max],
    ['used', 'Used in the last minute.', (l) => l.used],
    ['remaining', 'Left in the last minute after calls in flight.', (l) => l.remaining],
  ];
  for (const [what, help, value] of limitGauges)
    family(
      `tokenledger_rate_limit_${what}`,
      'gauge',
      help,
      g.limits.map((l) => [{ limit: l.limit, scope: l.label, kind: l.kind }, value(l)] as const),
    );
  one(
    'tokenledger_gateway_open_reservations',
    'gauge',
    'Admitted calls not yet settled or released.',
    g.openTickets,
  );
  one(
    'tokenledger_gateway_expired_reservations_total',
    'counter',
    'Reservations released because their call outlived the expiry bound.',
    g.expiredTickets,
  );

  if (m.spool !== undefined) {
    const s = m.spool;
    one(
      'tokenledger_spool_appended_total',
      'counter',
      'Records appended to the spool.',
      s.appended,
    );
    one('tokenledger_spool_written_total', 'counter', 'Records the ledger accepted.', s.written);
    one(
      'tokenledger_spool_pending_records',
      'gauge',
      'Records on disk not yet in the ledger.',
      s.pendingRecords,
    );
    one('tokenledger_spool_pending_bytes', 'gauge', 'Bytes of those records.', s.pendingBytes);
    one(
      'tokenledger_spool_store_down',
      'gauge',
      '1 while the last write to the ledger failed.',
      s.storeDown ? 1 : 0,
    );
    one(
      'tokenledger_spool_corrupt_lines_total',
      'counter',
      'Spool lines skipped because they could not be read.',
      s.corruptLines,
    );
  }
  if (m.sharedKeys !== undefined) {
    const k = m.sharedKeys;
    one(
      'tokenledger_shared_keys_pending',
      'gauge',
      'Key changes made here and not yet in the shared copy (Redis).',
      k.pending,
    );
    if (k.lastSyncAt !== null)
      one(
        'tokenledger_shared_keys_last_sync_timestamp_seconds',
        'gauge',
        'When this replica last exchanged keys with the shared copy.',
        k.lastSyncAt / 1000,
      );
  }

  const p = m.process;
  one('process_cpu_seconds_total', 'counter', 'User and system CPU time.', p.cpuSeconds);
  one('process_resident_memory_bytes', 'gauge', 'Resident memory.', p.residentBytes);
  one(
    'process_start_time_seconds',
    'gauge',
    'Start time since the Unix epoch.',
    p.startTimeSeconds,
  );
  one('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use.', p.heapBytes);
  one(
    'nodejs_eventloop_lag_p50_seconds',
    'gauge',
    'Median event-loop delay since the last scrape.',
    p.loopDelay.p50,
  );
  one('nodejs_eventloop_lag_p99_seconds', 'gauge', '99th percentile of the same.', p.loopDelay.p99);
  one(
    'nodejs_eventloop_lag_max_seconds',
    'gauge',
    'Longest event-loop delay of the same.',
    p.loopDelay.max,
  );
  return `${out.join('\n')}\n`;
}
