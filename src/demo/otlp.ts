/**
 * The OTLP telemetry the demo's Claude Code developers send (telemetry.md §1–3, claude-code-on-bedrock.md), built
 * from the very calls their invocation logs record: same calls, tokens and sessions, each event timed after its
 * call's log timestamp by the call's latency. The platform team switched telemetry on by managed settings for the
 * pilot teams `TELEMETRY_DAYS` before the end of the period; a Claude Code process started before that sends
 * nothing. Written as OTLP/JSON export requests (`otlp/<yyyy-mm-dd>/<nnnn>-logs.json`, `-metrics.json`), batched
 * the way an OpenTelemetry Collector in front of tokenledger forwards them: one ResourceLogs/ResourceMetrics per
 * Claude Code process. Deterministic from the seed, on a PRNG stream of its own (the logs do not depend on it).
 *
 * Per developer: a Claude Code version (2.1.3xx sends `request_id` = the log's `requestId`, the 5m/1h cache-write
 * split and the response body's model name; 2.1.190 typed values without request ids; 2.1.88 all-string values and
 * custom keys only on the resource), `OTEL_RESOURCE_ATTRIBUTES` = team, cost_center, user.email, an install
 * `user.id`, a terminal. One developer exports cumulative metrics every 5 minutes; everyone else delta every 60 s.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatUsd, type Picos, type RawUsage, type Tokens } from '../core/index.ts';
import type { Normaliser } from '../normalise/index.ts';
import { type Catalog, priceOf } from '../price/index.ts';
import type { MissingWindow } from './discrepancies.ts';
import type { Team } from './organisation.ts';
import type { DeveloperCall } from './otlp-sessions.ts';
import type { Developer } from './people.ts';
import type { Invocation } from './plan.ts';
import { createRandom, type Random } from './random.ts';
import { DAY_MS } from './rhythm.ts';

/** The folder under the demo root. */
export const OTLP_DIR = 'otlp';
/** Telemetry was switched on this many days before the end of the period (the whole period when shorter). */
export const TELEMETRY_DAYS = 7;
/**
 * The teams in the telemetry pilot: security, who asked for it, and legal-ops: about a sixth of the Claude Code
 * use, which keeps `npm start` quick (a receiver spends ~0.3 ms on an event).
 */
export const PILOT_TEAMS: readonly Team[] = ['security', 'legal-ops'];
/** `cost_center` in each team's OTEL_RESOURCE_ATTRIBUTES. */
const COST_CENTERS: Readonly<Record<Team, string>> = {
  platform: 'CC-1100',
  search: 'CC-1200',
  'support-bot': 'CC-1300',
  'data-science': 'CC-1400',
  growth: 'CC-1500',
  mobile: 'CC-1600',
  security: 'CC-1700',
  'finance-ai': 'CC-1800',
  'legal-ops': 'CC-1900',
};
/**
 * A file is written once its batch holds this many log records or data points (under 8 MB: a receiver's fixed cost
 * per request is paid a few times, not once per process).
 */
const LOG_RECORDS_PER_FILE = 5000;
const POINTS_PER_FILE = 10_000;

const EVENTS_SCOPE = 'com.anthropic.claude_code.events';
const METRICS_SCOPE = 'com.anthropic.claude_code';

// ── OTLP/JSON shapes (protobuf JSON mapping: lowerCamelCase, nanos as strings, ints as JSON numbers) ───────────

type AnyValue =
  | { readonly stringValue: string }
  | { readonly intValue: number }
  | { readonly doubleValue: number }
  | { readonly boolValue: boolean };
interface KeyValue {
  readonly key: string;
  readonly value: AnyValue;
}
interface LogRecordJson {
  readonly timeUnixNano: string;
  readonly observedTimeUnixNano: string;
  readonly body: { readonly stringValue: string };
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: 0;
}
interface PointJson {
  readonly attributes: readonly KeyValue[];
  readonly startTimeUnixNano: string;
  readonly timeUnixNano: string;
  readonly asDouble: number;
}
interface ResourceJson {
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: 0;
}
interface ResourceLogsJson {
  readonly resource: ResourceJson;
  readonly scopeLogs: readonly {
    readonly scope: { readonly name: string; readonly version: string };
    readonly logRecords: readonly LogRecordJson[];
  }[];
}
interface ResourceMetricsJson {
  readonly resource: ResourceJson;
  readonly scopeMetrics: readonly {
    readonly scope: { readonly name: string; readonly version: string };
    readonly metrics: readonly {
      readonly name: string;
      readonly description: string;
      readonly unit: string;
      readonly sum: {
        readonly aggregationTemporality: 1 | 2;
        readonly isMonotonic: true;
        readonly dataPoints: readonly PointJson[];
      };
    }[];
  }[];
}

const str = (key: string, value: string): KeyValue => ({ key, value: { stringValue: value } });
const nanos = (ms: number): string => (ms === 0 ? '0' : `${Math.round(ms)}000000`);

// ── who runs what ─────────────────────────────────────────────────────────────────────────────────────────────

/** What a Claude Code version puts on the wire. */
interface Traits {
  /** Numbers as intValue/doubleValue; else every event value is a string (2.1.88). */
  readonly typed: boolean;
  /** `request_id` (Bedrock's x-amzn-RequestId) on API events, whose `model` is then the response body's model. */
  readonly requestId: boolean;
  /** `cache_creation_5m/1h_tokens`, `cost_usd_micros`, `ttft_ms`, `anthropic.provider`, `tool_source`, … */
  readonly recent: boolean;
  /** OTEL_RESOURCE_ATTRIBUTES keys copied onto every record and point (else on the resource only). */
  readonly copies: boolean;
  /** `query_source`/`effort`/`speed`, `start_type`, `model` on lines of code. */
  readonly facets: boolean;
}
const RECENT: Traits = { typed: true, requestId: true, recent: true, copies: true, facets: true };
const VERSIONS: Readonly<Record<string, Traits>> = {
  '2.1.330': RECENT,
  '2.1.328': RECENT,
  '2.1.190': { typed: true, requestId: false, recent: false, copies: true, facets: true },
  '2.1.88': { typed: false, requestId: false, recent: false, copies: false, facets: false },
};
/** Versions handed out in turn over the pilot developers: mostly current, some behind. */
const VERSION_CYCLE = [
  '2.1.330',
  '2.1.328',
  '2.1.190',
  '2.1.330',
  '2.1.88',
  '2.1.330',
  '2.1.328',
  '2.1.190',
  '2.1.330',
  '2.1.328',
];
const TERMINALS = ['vscode', 'iTerm.app', 'cursor', 'tmux', 'xterm-256color', 'WezTerm'];
const SYSTEMS = [
  { type: 'darwin', version: '25.1.0', arch: 'arm64' },
  { type: 'darwin', version: '24.6.0', arch: 'arm64' },
  { type: 'linux', version: '6.8.0-79-generic', arch: 'amd64' },
];
const LANGUAGES: Readonly<Partial<Record<Team, readonly string[]>>> = {
  security: ['Python', 'Go', 'Rust', 'YAML'],
  'legal-ops': ['TypeScript', 'Python', 'SQL', 'Markdown'],
};
const DEFAULT_LANGUAGES = ['TypeScript', 'Python', 'Markdown'];

interface TelemetryUser {
  readonly developer: Developer;
  readonly version: string;
  readonly userId: string;
  readonly terminal: string;
  readonly os: (typeof SYSTEMS)[number];
  readonly temporality: 'delta' | 'cumulative';
  /** OTEL_METRIC_EXPORT_INTERVAL, ms. */
  readonly intervalMs: number;
}

/** The pilot developers and their setups; the most active one on a current version exports cumulative metrics. */
function telemetryUsers(people: readonly Developer[], rng: Random): TelemetryUser[] {
  const pilot = people.filter((d) => PILOT_TEAMS.includes(d.team));
  const users = pilot.map((developer, i) => ({
    developer,
    version: VERSION_CYCLE[i % VERSION_CYCLE.length] ?? '2.1.330',
    userId: rng.hex(64),
    terminal: rng.pick(TERMINALS),
    os: rng.pick(SYSTEMS),
    temporality: 'delta' as 'delta' | 'cumulative',
    intervalMs: 60_000,
  }));
  const current = users.filter((u) => VERSIONS[u.version]?.requestId);
  const busiest = current.reduce<TelemetryUser | undefined>(
    (b, u) => (b === undefined || u.developer.activity > b.developer.activity ? u : b),
    undefined,
  );
  return users.map((u) =>
    u === busiest ? { ...u, temporality: 'cumulative', intervalMs: 300_000 } : u,
  );
}

// ── prices Claude Code itself uses (telemetry.md §1.1: Anthropic list prices, every cache write at 5m) ──────────

/** Pico-USD per token: input, output, cache read, cache write. */
const CLIENT_RATES: Readonly<Record<string, readonly [bigint, bigint, bigint, bigint]>> = {
  'anthropic.claude-sonnet-4-5-20250929-v1:0': [3_000_000n, 15_000_000n, 300_000n, 3_750_000n],
  'anthropic.claude-sonnet-4-6': [3_000_000n, 15_000_000n, 300_000n, 3_750_000n],
  'anthropic.claude-haiku-4-5-20251001-v1:0': [1_000_000n, 5_000_000n, 100_000n, 1_250_000n],
  'anthropic.claude-opus-4-6-v1': [5_000_000n, 25_000_000n, 500_000n, 6_250_000n],
  'anthropic.claude-opus-4-7': [5_000_000n, 25_000_000n, 500_000n, 6_250_000n],
};
/** An unknown model is priced as the default main-loop model (Opus). */
const FALLBACK_RATES = [5_000_000n, 25_000_000n, 500_000n, 6_250_000n] as const;

/** Claude Code's own estimate of a call, exact. */
function clientCost(modelId: string, t: Tokens): Picos {
  const [i, o, r, w] = CLIENT_RATES[modelId] ?? FALLBACK_RATES;
  return (
    BigInt(t.input) * i +
    BigInt(t.output) * o +
    BigInt(t.cacheRead) * r +
    BigInt(t.cacheWrite5m + t.cacheWrite1h) * w
  );
}

/** `anthropic.claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5-20250929`: the model the response body names. */
export function responseModel(modelId: string): string {
  const id = modelId.slice(modelId.lastIndexOf('anthropic.') + 'anthropic.'.length);
  return id.replace(/-v\d+(:\d+)?$/, '');
}

// ── tools ─────────────────────────────────────────────────────────────────────────────────────────────────────

interface ToolSpec {
  readonly name: string;
  readonly weight: number;
  /** Asks the user (or a permission rule) before running. */
  readonly asks: boolean;
  readonly ms: readonly [number, number];
  readonly bytes: readonly [number, number];
}
const MAIN_TOOLS: readonly ToolSpec[] = [
  { name: 'Read', weight: 26, asks: false, ms: [3, 60], bytes: [400, 40_000] },
  { name: 'Edit', weight: 22, asks: true, ms: [8, 90], bytes: [100, 2_000] },
  { name: 'Bash', weight: 18, asks: true, ms: [150, 25_000], bytes: [40, 20_000] },
  { name: 'Grep', weight: 12, asks: false, ms: [15, 400], bytes: [100, 8_000] },
  { name: 'Glob', weight: 6, asks: false, ms: [5, 120], bytes: [80, 3_000] },
  { name: 'Write', weight: 6, asks: true, ms: [8, 90], bytes: [60, 400] },
  { name: 'TodoWrite', weight: 7, asks: false, ms: [1, 8], bytes: [60, 600] },
  { name: 'mcp_tool', weight: 3, asks: true, ms: [200, 4_000], bytes: [200, 12_000] },
];
const EXPLORE_TOOLS = MAIN_TOOLS.filter((t) => ['Read', 'Grep', 'Glob'].includes(t.name));
const ASKED_SOURCES = [
  { source: 'config', weight: 45 },
  { source: 'user_temporary', weight: 35 },
  { source: 'user_permanent', weight: 20 },
] as const;

// ── metrics ───────────────────────────────────────────────────────────────────────────────────────────────────

const METRICS: Readonly<Record<string, { readonly description: string; readonly unit: string }>> = {
  'claude_code.session.count': { description: 'Count of CLI sessions started', unit: '' },
  'claude_code.lines_of_code.count': {
    description:
      "Count of lines of code modified, with the 'type' attribute indicating whether lines were added or removed",
    unit: '',
  },
  'claude_code.pull_request.count': { description: 'Number of pull requests created', unit: '' },
  'claude_code.commit.count': { description: 'Number of git commits created', unit: '' },
  'claude_code.cost.usage': { description: 'Cost of the Claude Code session', unit: 'USD' },
  'claude_code.token.usage': { description: 'Number of tokens used', unit: 'tokens' },
  'claude_code.code_edit_tool.decision': {
    description:
      'Count of code editing tool permission decisions (accept/reject) for Edit, Write, and NotebookEdit tools',
    unit: '',
  },
  'claude_code.active_time.total': { description: 'Total active time in seconds', unit: 's' },
};

interface Measurement {
  readonly at: number;
  readonly metric: string;
  readonly attributes: readonly KeyValue[];
  readonly value: number;
}

/**
 * What the SDK's periodic reader exports for one process: a collection every `intervalMs` from `startMs` and a last
 * one at `endMs` (shutdown). Delta: the series measured since the previous collection, each starting at that
 * collection (or at its first measurement when new). Cumulative: every series so far, from the process start.
 */
function exportPoints(
  measurements: readonly Measurement[],
  startMs: number,
  endMs: number,
  intervalMs: number,
  temporality: 'delta' | 'cumulative',
): Map<string, PointJson[]> {
  const sorted = [...measurements].sort((a, b) => a.at - b.at);
  const out = new Map<string, PointJson[]>();
  const push = (metric: string, p: PointJson) => {
    const list = out.get(metric);
    if (list) list.push(p);
    else out.set(metric, [p]);
  };
  const totals = new Map<
    string,
    { metric: string; attributes: readonly KeyValue[]; value: number }
  >();
  const seen = new Set<string>();
  let next = 0;
  let previous = startMs;
  for (let k = 1; previous < endMs; k++) {
    const at = Math.min(startMs + k * intervalMs, endMs);
    const window = new Map<
      string,
      { metric: string; attributes: readonly KeyValue[]; value: number; first: number }
    >();
    for (; next < sorted.length && (sorted[next]?.at ?? 0) <= at; next++) {
      const m = sorted[next] as Measurement;
      const key = `${m.metric}|${JSON.stringify(m.attributes)}`;
      const w = window.get(key);
      if (w) w.value += m.value;
      else
        window.set(key, {
          metric: m.metric,
          attributes: m.attributes,
          value: m.value,
          first: m.at,
        });
      const t = totals.get(key);
      if (t) t.value += m.value;
      else totals.set(key, { metric: m.metric, attributes: m.attributes, value: m.value });
    }
    if (temporality === 'delta') {
      for (const [key, w] of window) {
        const from = seen.has(key) ? previous : w.first;
        seen.add(key);
        push(w.metric, {
          attributes: w.attributes,
          startTimeUnixNano: nanos(from),
          timeUnixNano: nanos(at),
          asDouble: w.value,
        });
      }
    } else {
      for (const t of totals.values()) {
        push(t.metric, {
          attributes: t.attributes,
          startTimeUnixNano: nanos(startMs),
          timeUnixNano: nanos(at),
          asDouble: t.value,
        });
      }
    }
    previous = at;
  }
  return out;
}

// ── truth ─────────────────────────────────────────────────────────────────────────────────────────────────────

interface TokenCounts {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
}

/** One session as the truth file describes it. */
export interface SessionTruth {
  readonly sessionId: string;
  readonly user: string;
  readonly team: string;
  readonly version: string;
  readonly temporality: 'delta' | 'cumulative';
  /** First and last event, ISO-8601 with milliseconds. */
  readonly first: string;
  readonly last: string;
  readonly prompts: number;
  /** api_request events. */
  readonly requests: number;
  readonly errors: number;
  /** tool_result events. */
  readonly toolCalls: number;
  readonly commits: number;
  readonly pullRequests: number;
  readonly linesAdded: number;
  readonly linesRemoved: number;
  readonly tokens: TokenCounts;
  /** The list price of its api_request calls as the ledger prices their log records. */
  readonly costUsd: string;
  /** Claude Code's own estimate (the sum of its cost_usd). */
  readonly clientCostUsd: string;
  /** Whether its events carry request ids (the log records then join exactly). */
  readonly requestIds: boolean;
  /** api_request calls whose log file was never delivered (the missing hours). */
  readonly logsMissing: number;
  /** One of its api_request calls' request id, when its events carry them. */
  readonly sampleRequestId: string | null;
}

export interface TelemetrySummary {
  readonly root: string;
  readonly files: number;
  readonly logRecords: number;
  readonly points: number;
  readonly sessions: number;
  /** What `demo-truth.json` says about the telemetry. */
  readonly truth: Record<string, unknown>;
}

/** How the api_request events relate to the invocation logs. */
interface Joins {
  /** Events with a request id (2.1.3xx). */
  withRequestId: number;
  withoutRequestId: number;
  /** Events whose call's log record was delivered: each joins exactly that record. */
  logged: number;
  /** … and carry its request id: the exact join. */
  joinableByRequestId: number;
  /** Events whose call's log file was never delivered (the missing hours). */
  logsMissing: number;
}
const noJoins = (): Joins => ({
  withRequestId: 0,
  withoutRequestId: 0,
  logged: 0,
  joinableByRequestId: 0,
  logsMissing: 0,
});

interface SessionTally {
  readonly truth: SessionTruth;
  readonly costPicos: Picos;
  readonly clientPicos: Picos;
  readonly cumulative: boolean;
}

// ── the generator ─────────────────────────────────────────────────────────────────────────────────────────────

export interface TelemetryOptions {
  /** The demo root: files go to `<root>/otlp/`. */
  readonly root: string;
  readonly seed: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly people: readonly Developer[];
  readonly normaliser: Normaliser;
  readonly catalog: Catalog;
  /** The hours whose log files were never delivered: their calls are in the telemetry, not in the logs. */
  readonly missing: MissingWindow;
}

/** Processes waiting to be written as one export request; `day` is the first one's start day (its folder). */
interface Batch<T> {
  day: string;
  items: T[];
  /** Log records or data points. */
  size: number;
}

/**
 * Collects the pilot developers' Claude Code calls as they are planned (`observe`, in time order per developer),
 * renders each session when it is over and writes the batches; `finish` renders the rest and returns the summary.
 */
export class ClaudeCodeTelemetry {
  readonly windowStartMs: number;
  private readonly rng: Random;
  private readonly users = new Map<string, TelemetryUser>();
  private readonly open = new Map<string, DeveloperCall[]>();
  private readonly logs: Batch<ResourceLogsJson> = { day: '', items: [], size: 0 };
  private readonly metrics: Batch<ResourceMetricsJson> = { day: '', items: [], size: 0 };
  /** Files are numbered in the order they are written. */
  private n = 0;
  private readonly folders = new Map<string, Promise<unknown>>();
  private readonly writes: Promise<unknown>[] = [];
  private readonly tallies: SessionTally[] = [];
  private readonly events = new Map<string, number>();
  private readonly joins: Joins = noJoins();
  private files = 0;
  private records = 0;
  private points = 0;

  constructor(private readonly o: TelemetryOptions) {
    this.rng = createRandom((o.seed ^ 0x51c0de77) >>> 0);
    for (const u of telemetryUsers(o.people, this.rng)) this.users.set(u.developer.email, u);
    this.windowStartMs = Math.max(o.startMs, o.endMs - TELEMETRY_DAYS * DAY_MS);
  }

  /** The calls of one planned hour. */
  observe(calls: readonly DeveloperCall[]): void {
    for (const call of calls) {
      const email = call.developer.email;
      if (!this.users.has(email)) continue;
      const current = this.open.get(email);
      if (call.sessionStart || current === undefined) {
        if (current !== undefined) this.render(current);
        this.open.set(email, [call]);
      } else current.push(call);
    }
  }

  async finish(): Promise<TelemetrySummary> {
    for (const email of [...this.open.keys()].sort()) {
      const calls = this.open.get(email);
      if (calls) this.render(calls);
    }
    this.open.clear();
    this.flush(true);
    await Promise.all(this.writes);
    return {
      root: join(this.o.root, OTLP_DIR),
      files: this.files,
      logRecords: this.records,
      points: this.points,
      sessions: this.tallies.length,
      truth: this.truth(),
    };
  }

  /** One session (one Claude Code process) → its events and metric points, into the batches. */
  private render(calls: readonly DeveloperCall[]): void {
    const first = calls[0];
    if (first === undefined || first.inv.timestamp < this.windowStartMs) return;
    const user = this.users.get(first.developer.email);
    if (user === undefined) return;
    const session = new SessionRenderer(user, calls, this.rng, this.o, (inv) =>
      this.ledgerCost(inv),
    );
    const out = session.render();
    for (const [name, n] of session.eventCounts)
      this.events.set(name, (this.events.get(name) ?? 0) + n);
    for (const k of Object.keys(this.joins) as (keyof Joins)[]) this.joins[k] += session.joins[k];
    this.tallies.push(out.tally);
    const day = new Date(first.inv.timestamp).toISOString().slice(0, 10);
    add(this.logs, day, out.logs, out.records);
    if (out.metrics !== null) add(this.metrics, day, out.metrics, out.points);
    this.records += out.records;
    this.points += out.points;
    this.flush(false);
  }

  private flush(all: boolean): void {
    const { logs, metrics } = this;
    if (logs.size > 0 && (all || logs.size >= LOG_RECORDS_PER_FILE)) {
      this.write(logs.day, 'logs', { resourceLogs: logs.items });
      Object.assign(logs, { items: [], size: 0 });
    }
    if (metrics.size > 0 && (all || metrics.size >= POINTS_PER_FILE)) {
      this.write(metrics.day, 'metrics', { resourceMetrics: metrics.items });
      Object.assign(metrics, { items: [], size: 0 });
    }
  }

  private write(day: string, signal: 'logs' | 'metrics', request: unknown): void {
    const n = ++this.n;
    const folder = join(this.o.root, OTLP_DIR, day);
    let made = this.folders.get(folder);
    if (made === undefined) {
      made = mkdir(folder, { recursive: true });
      this.folders.set(folder, made);
    }
    const text = JSON.stringify(request);
    const path = join(folder, `${String(n).padStart(4, '0')}-${signal}.json`);
    const written = made.then(() => writeFile(path, text));
    written.catch(() => {});
    this.writes.push(written);
    this.files++;
  }

  /** What the ledger charges for the call's log record: priced as the ingest prices what the parser reads. */
  private ledgerCost(inv: Invocation): Picos {
    const t = inv.tokens;
    const writes = t.cacheWrite5m + t.cacheWrite1h;
    // The 5m/1h split is read from the response body: without bodies (text delivery off) every write reads as 5m.
    const ttlKnown = writes === 0 || (inv.textDelivery && inv.errorCode === null);
    const raw: RawUsage = {
      requestId: inv.requestId,
      occurredAt: inv.timestamp,
      accountId: inv.accountId,
      region: inv.region,
      inferenceRegion: inv.inferenceRegion,
      operation: inv.operation,
      modelId: inv.modelId,
      identityArn: inv.identityArn,
      requestMetadata: {},
      tokens: ttlKnown ? t : { ...t, cacheWrite5m: writes, cacheWrite1h: 0 },
      cacheTtlKnown: ttlKnown,
      tier: null,
      latencyMs: inv.timing.latencyMs,
      firstByteMs: inv.timing.firstByteMs,
      errorCode: inv.errorCode,
      source: { uri: 'demo', line: 0 },
    };
    return priceOf(this.o.normaliser.normalise(raw), this.o.catalog).cost.picos ?? 0n;
  }

  private truth(): Record<string, unknown> {
    const t = this.tallies;
    const tokens: TokenCounts = {
      input: 0,
      output: 0,
      cacheRead: 0,
      cacheWrite5m: 0,
      cacheWrite1h: 0,
    };
    let cost = 0n;
    let client = 0n;
    for (const s of t) {
      for (const k of Object.keys(tokens) as (keyof TokenCounts)[]) tokens[k] += s.truth.tokens[k];
      cost += s.costPicos;
      client += s.clientPicos;
    }
    const byCost = (a: SessionTally, b: SessionTally) =>
      a.costPicos === b.costPicos ? 0 : a.costPicos > b.costPicos ? -1 : 1;
    const sorted = [...t].sort(byCost);
    const picked = new Set<SessionTally>([
      ...sorted.filter((s) => s.truth.requestIds && s.truth.logsMissing === 0).slice(0, 3),
      ...sorted.filter((s) => s.truth.version === '2.1.190').slice(0, 1),
      ...sorted.filter((s) => s.truth.version === '2.1.88').slice(0, 1),
      ...sorted.filter((s) => s.cumulative).slice(0, 1),
      ...sorted.filter((s) => s.truth.logsMissing > 0).slice(0, 1),
    ]);
    const versions: Record<string, number> = {};
    for (const u of this.users.values()) versions[u.version] = (versions[u.version] ?? 0) + 1;
    const cumulative = [...this.users.values()].find((u) => u.temporality === 'cumulative');
    return {
      what: `Claude Code OTLP telemetry of the pilot teams (${PILOT_TEAMS.join(', ')}), switched on by managed settings at window.start: the same calls, tokens and sessions as their invocation logs. api_request events of 2.1.3xx carry request_id = the log record's requestId; older versions carry none. Calls in the missing log hours are in the telemetry only.`,
      dir: OTLP_DIR,
      files: this.files,
      window: { start: iso(this.windowStartMs), end: iso(this.o.endMs) },
      pilotTeams: PILOT_TEAMS,
      developers: this.users.size,
      versions,
      cumulativeUser: cumulative
        ? {
            user: cumulative.developer.email,
            exportIntervalMs: cumulative.intervalMs,
          }
        : null,
      sessions: t.length,
      logRecords: this.records,
      metricPoints: this.points,
      events: Object.fromEntries([...this.events].sort(([a], [b]) => (a < b ? -1 : 1))),
      apiRequests: {
        total: this.events.get('api_request') ?? 0,
        ...this.joins,
      },
      tokens,
      costUsd: formatUsd(cost),
      clientCostUsd: formatUsd(client),
      commits: t.reduce((n, s) => n + s.truth.commits, 0),
      pullRequests: t.reduce((n, s) => n + s.truth.pullRequests, 0),
      sampleSessions: [...picked].sort(byCost).map((s) => s.truth),
    };
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

function add<T>(batch: Batch<T>, day: string, item: T, size: number): void {
  if (batch.items.length === 0) batch.day = day;
  batch.items.push(item);
  batch.size += size;
}

// ── one session ───────────────────────────────────────────────────────────────────────────────────────────────

interface Rendered {
  readonly logs: ResourceLogsJson;
  readonly records: number;
  readonly metrics: ResourceMetricsJson | null;
  readonly points: number;
  readonly tally: SessionTally;
}

const ERROR_STATUS: Readonly<Record<string, { status: number; message: string }>> = {
  ThrottlingException: {
    status: 429,
    message: 'Too many requests, please wait before trying again.',
  },
  ValidationException: { status: 400, message: 'Input is too long for requested model.' },
  ServiceUnavailableException: { status: 503, message: 'Service unavailable.' },
  ModelTimeoutException: { status: 408, message: 'Model has timed out in processing the request.' },
};

class SessionRenderer {
  readonly eventCounts = new Map<string, number>();
  readonly joins: Joins = noJoins();
  private readonly traits: Traits;
  private readonly sessionId: string;
  private readonly custom: KeyValue[];
  private readonly standard: KeyValue[];
  private readonly records: LogRecordJson[] = [];
  private readonly measurements: Measurement[] = [];
  private sequence = 0;
  private promptId: string | null = null;
  private titled = false;
  private readonly s = {
    prompts: 0,
    requests: 0,
    errors: 0,
    toolCalls: 0,
    commits: 0,
    pullRequests: 0,
    linesAdded: 0,
    linesRemoved: 0,
    logsMissing: 0,
    sample: null as string | null,
  };
  private readonly tokens: TokenCounts = {
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheWrite5m: 0,
    cacheWrite1h: 0,
  };
  private cost = 0n;
  private client = 0n;

  constructor(
    private readonly user: TelemetryUser,
    private readonly calls: readonly DeveloperCall[],
    private readonly rng: Random,
    private readonly o: TelemetryOptions,
    private readonly ledgerCost: (inv: Invocation) => Picos,
  ) {
    this.traits = VERSIONS[user.version] ?? RECENT;
    this.sessionId = rng.uuid();
    const dev = user.developer;
    // OTEL_RESOURCE_ATTRIBUTES, in the order the managed settings list them.
    this.custom = [
      str('team', dev.team),
      str('cost_center', COST_CENTERS[dev.team]),
      str('user.email', dev.email),
    ];
    this.standard = [
      ...(this.traits.copies ? this.custom : []),
      str('user.id', user.userId),
      str('session.id', this.sessionId),
      str('terminal.type', user.terminal),
      ...(this.traits.recent ? [str('anthropic.provider', 'bedrock')] : []),
    ];
  }

  private int(key: string, value: number): KeyValue {
    return this.traits.typed
      ? { key, value: { intValue: Math.round(value) } }
      : str(key, String(Math.round(value)));
  }

  private double(key: string, value: number): KeyValue {
    return this.traits.typed ? { key, value: { doubleValue: value } } : str(key, String(value));
  }

  private event(name: string, at: number, attributes: readonly KeyValue[]): void {
    const time = nanos(at);
    this.records.push({
      timeUnixNano: time,
      observedTimeUnixNano: time,
      body: { stringValue: `claude_code.${name}` },
      attributes: [
        ...this.standard,
        str('event.name', name),
        str('event.timestamp', iso(at)),
        { key: 'event.sequence', value: { intValue: this.sequence++ } },
        ...(this.promptId === null ? [] : [str('prompt.id', this.promptId)]),
        ...attributes,
      ],
      droppedAttributesCount: 0,
    });
    this.eventCounts.set(name, (this.eventCounts.get(name) ?? 0) + 1);
  }

  private measure(at: number, metric: string, value: number, attributes: readonly KeyValue[] = []) {
    this.measurements.push({ at, metric, value, attributes: [...this.standard, ...attributes] });
  }

  render(): Rendered {
    const rng = this.rng;
    const calls = this.calls;
    const first = calls[0] as DeveloperCall;
    // Each call's real start: its log timestamp (whole seconds) plus the part of the second Bedrock's log dropped.
    const starts = calls.map((c) => c.inv.timestamp + rng.int(0, 999));
    const firstPromptAt = (starts[0] ?? first.inv.timestamp) - rng.int(30, 400);
    const firstTyping = rng.int(4, 90) * 1000;
    const startMs = firstPromptAt - firstTyping - rng.int(800, 6000);
    this.measure(
      startMs + rng.int(150, 400),
      'claude_code.session.count',
      1,
      this.traits.facets
        ? [
            str(
              'start_type',
              rng.weighted(['fresh', 'resume', 'continue'], (t) => (t === 'fresh' ? 8 : 1)),
            ),
          ]
        : [],
    );
    if (this.traits.recent)
      this.event('managed_settings_resolved', startMs + rng.int(200, 900), []);
    let lastAt = startMs;
    let lastMainRequest: { at: number; call: DeveloperCall } | null = null;
    for (let j = 0; j < calls.length; j++) {
      const call = calls[j] as DeveloperCall;
      const start = starts[j] ?? call.inv.timestamp;
      if (call.promptStart) {
        lastAt = this.closePrompt(lastMainRequest, lastAt);
        lastMainRequest = null;
        const promptAt = j === 0 ? firstPromptAt : start - rng.int(30, 400);
        const typing = j === 0 ? firstTyping : Math.min(rng.int(3, 120) * 1000, promptAt - lastAt);
        this.promptId = rng.uuid();
        this.s.prompts++;
        this.event('user_prompt', promptAt, [
          str('prompt_length', String(rng.logInt(8, 2400))),
          str('prompt', '<REDACTED>'),
          ...(this.traits.recent ? [str('message.uuid', rng.uuid())] : []),
        ]);
        this.measure(promptAt, 'claude_code.active_time.total', Math.max(1, typing) / 1000, [
          str('type', 'user'),
        ]);
      }
      const end = start + call.inv.timing.latencyMs + rng.int(5, 80);
      this.apiCall(call, start, end);
      lastAt = end;
      if (call.inv.errorCode === null && !call.side) lastMainRequest = { at: end, call };
      const next = calls[j + 1];
      const nextStart = starts[j + 1];
      if (
        next !== undefined &&
        nextStart !== undefined &&
        !next.promptStart &&
        call.inv.errorCode === null
      ) {
        lastAt = this.tool(call, end, nextStart);
      }
    }
    lastAt = this.closePrompt(lastMainRequest, lastAt);
    const lastEvent = lastAt;
    const endMs = Math.max(
      lastEvent + 1,
      Math.min(lastEvent + rng.int(30, 1200) * 1000, this.o.endMs - 1),
    );
    return this.finish(startMs, endMs);
  }

  /** The assistant's answer to the prompt: its last main-loop response (2.1.193 and later). */
  private closePrompt(last: { at: number; call: DeveloperCall } | null, after: number): number {
    if (last === null || !this.traits.recent) return after;
    const inv = last.call.inv;
    const at = Math.max(last.at, after) + this.rng.int(2, 30);
    this.event('assistant_response', at, [
      this.int('response_length', this.rng.logInt(20, 6000)),
      str('response', '<REDACTED>'),
      str('model', responseModel(inv.model.id)),
      str('request_id', inv.requestId),
      str('message.uuid', this.rng.uuid()),
      str('query_source', 'repl_main_thread'),
    ]);
    return at;
  }

  /** `query_source` as events name it (raw subsystem) and as metrics group it (category). */
  private querySource(call: DeveloperCall): {
    raw: string;
    category: string;
    agent: string | null;
  } {
    if (!call.side) return { raw: 'repl_main_thread', category: 'main', agent: null };
    if (!this.titled) {
      this.titled = true;
      return { raw: 'generate_session_title', category: 'auxiliary', agent: null };
    }
    return { raw: 'Explore', category: 'subagent', agent: 'Explore' };
  }

  private apiCall(call: DeveloperCall, start: number, end: number): void {
    const inv = call.inv;
    const t = inv.tokens;
    const traits = this.traits;
    const q = this.querySource(call);
    const effort = inv.model.id.includes('opus')
      ? 'high'
      : inv.model.id.includes('sonnet-4-6')
        ? 'medium'
        : null;
    const facets = traits.facets
      ? [
          str('speed', 'normal'),
          str('query_source', q.raw),
          ...(effort ? [str('effort', effort)] : []),
          ...(q.agent ? [str('agent.name', q.agent)] : []),
        ]
      : [];
    const model = str('model', traits.requestId ? responseModel(inv.model.id) : inv.modelId);
    const logged = !this.inMissingHours(inv);
    if (inv.errorCode !== null) {
      const e = ERROR_STATUS[inv.errorCode] ?? { status: 500, message: inv.errorCode };
      this.s.errors++;
      this.event('api_error', end, [
        str('model', inv.modelId),
        str('error', `${e.status} ${e.message}`),
        this.int('status_code', e.status),
        this.int('duration_ms', end - start),
        this.int('attempt', 1),
        ...(traits.requestId ? [str('request_id', inv.requestId)] : []),
        ...facets,
      ]);
      this.measure(end, 'claude_code.active_time.total', (end - start) / 1000, [
        str('type', 'cli'),
      ]);
      return;
    }
    const client = clientCost(inv.model.id, t);
    const costUsd = Number(client) / 1e12;
    const writes = t.cacheWrite5m + t.cacheWrite1h;
    this.event('api_request', end, [
      model,
      this.int('input_tokens', t.input),
      this.int('output_tokens', t.output),
      this.int('cache_read_tokens', t.cacheRead),
      this.int('cache_creation_tokens', writes),
      ...(traits.recent
        ? [
            this.int('cache_creation_5m_tokens', t.cacheWrite5m),
            this.int('cache_creation_1h_tokens', t.cacheWrite1h),
          ]
        : []),
      this.double('cost_usd', costUsd),
      ...(traits.recent ? [this.int('cost_usd_micros', Number(client / 1_000_000n))] : []),
      this.int('duration_ms', end - start),
      ...(traits.recent ? [this.int('ttft_ms', inv.timing.firstByteMs + this.rng.int(3, 40))] : []),
      ...(traits.requestId ? [str('request_id', inv.requestId)] : []),
      ...facets,
    ]);
    this.s.requests++;
    const j = this.joins;
    if (traits.requestId) j.withRequestId++;
    else j.withoutRequestId++;
    if (logged) {
      j.logged++;
      if (traits.requestId) j.joinableByRequestId++;
      if (traits.requestId) this.s.sample ??= inv.requestId;
    } else {
      j.logsMissing++;
      this.s.logsMissing++;
    }
    for (const k of Object.keys(this.tokens) as (keyof TokenCounts)[]) this.tokens[k] += t[k];
    this.cost += this.ledgerCost(inv);
    this.client += client;
    const pointFacets = [
      str('model', inv.modelId),
      ...(traits.facets
        ? [
            str('query_source', q.category),
            ...(effort ? [str('effort', effort)] : []),
            ...(q.agent ? [str('agent.name', q.agent)] : []),
          ]
        : []),
    ];
    this.measure(end, 'claude_code.cost.usage', costUsd, pointFacets);
    const types: [string, number][] = [
      ['input', t.input],
      ['output', t.output],
      ['cacheRead', t.cacheRead],
      ['cacheCreation', writes],
    ];
    for (const [type, value] of types) {
      this.measure(end, 'claude_code.token.usage', value, [...pointFacets, str('type', type)]);
    }
    this.measure(end, 'claude_code.active_time.total', (end - start) / 1000, [str('type', 'cli')]);
  }

  private inMissingHours(inv: Invocation): boolean {
    const m = this.o.missing;
    return (
      inv.accountId === m.account &&
      inv.region === m.region &&
      inv.timestamp >= m.fromMs &&
      inv.timestamp < m.toMs
    );
  }

  /** The tool the model asked for, between its response (`end`) and the next call; returns when it finished. */
  private tool(call: DeveloperCall, end: number, nextStart: number): number {
    const rng = this.rng;
    const spec = rng.weighted(call.side ? EXPLORE_TOOLS : MAIN_TOOLS, (t) => t.weight);
    const room = Math.max(2, nextStart - end - 20);
    let decision = 'accept';
    let source = 'config';
    if (spec.asks) {
      if (rng.chance(0.06)) {
        decision = 'reject';
        source = 'user_reject';
      } else source = rng.weighted(ASKED_SOURCES, (s) => s.weight).source;
    }
    const byUser = source !== 'config';
    const wait = Math.min(byUser ? rng.int(600, 9000) : rng.int(1, 30), Math.floor(room * 0.4));
    const decidedAt = end + Math.max(1, wait);
    const toolUseId = `toolu_01${rng.alnum(22)}`;
    const traits = this.traits;
    this.event('tool_decision', decidedAt, [
      str('tool_name', spec.name),
      ...(traits.facets ? [str('tool_use_id', toolUseId)] : []),
      str('decision', decision),
      str('source', source),
      ...(traits.recent ? [str('tool_source', spec.name === 'mcp_tool' ? 'mcp' : 'builtin')] : []),
    ]);
    if (byUser) {
      this.measure(decidedAt, 'claude_code.active_time.total', (decidedAt - end) / 1000, [
        str('type', 'user'),
      ]);
    }
    const editor = spec.name === 'Edit' || spec.name === 'Write';
    const language = rng.pick(LANGUAGES[this.user.developer.team] ?? DEFAULT_LANGUAGES);
    if (editor) {
      this.measure(decidedAt, 'claude_code.code_edit_tool.decision', 1, [
        str('tool_name', spec.name),
        str('decision', decision),
        str('source', source),
        str('language', language),
      ]);
    }
    if (decision === 'reject') return decidedAt;
    const ms = Math.max(
      1,
      Math.min(rng.logInt(spec.ms[0], spec.ms[1]), nextStart - 20 - decidedAt),
    );
    const doneAt = decidedAt + ms;
    const success = !rng.chance(spec.name === 'Bash' ? 0.08 : 0.01);
    this.s.toolCalls++;
    this.event('tool_result', doneAt, [
      str('tool_name', spec.name),
      ...(traits.facets ? [str('tool_use_id', toolUseId)] : []),
      str('success', String(success)),
      str('duration_ms', String(ms)),
      ...(success ? [] : [str('error_type', spec.name === 'Bash' ? 'ShellError' : 'ToolError')]),
      str('decision_type', 'accept'),
      str('decision_source', source),
      ...(traits.recent
        ? [str('tool_result_size_bytes', String(rng.logInt(spec.bytes[0], spec.bytes[1])))]
        : []),
    ]);
    this.measure(doneAt, 'claude_code.active_time.total', ms / 1000, [str('type', 'cli')]);
    if (!success) return doneAt;
    const model = this.traits.facets ? [str('model', call.inv.modelId)] : [];
    if (editor) {
      const added = spec.name === 'Write' ? rng.logInt(10, 300) : rng.logInt(1, 60);
      const removed = spec.name === 'Write' ? 0 : rng.logInt(1, 40) - 1;
      this.s.linesAdded += added;
      this.s.linesRemoved += removed;
      this.measure(doneAt, 'claude_code.lines_of_code.count', added, [
        str('type', 'added'),
        ...model,
      ]);
      if (removed > 0) {
        this.measure(doneAt, 'claude_code.lines_of_code.count', removed, [
          str('type', 'removed'),
          ...model,
        ]);
      }
    }
    if (spec.name === 'Bash' && !call.side) {
      if (this.s.commits > 0 && rng.chance(0.2)) {
        this.s.pullRequests++;
        this.measure(doneAt, 'claude_code.pull_request.count', 1);
      } else if (rng.chance(0.3)) {
        this.s.commits++;
        this.measure(doneAt, 'claude_code.commit.count', 1);
      }
    }
    return doneAt;
  }

  private finish(startMs: number, endMs: number): Rendered {
    const u = this.user;
    const dev = u.developer;
    const resource: ResourceJson = {
      attributes: [
        ...this.custom,
        str('host.arch', u.os.arch),
        str('os.type', u.os.type),
        str('os.version', u.os.version),
        str('service.name', 'claude-code'),
        str('service.version', u.version),
      ],
      droppedAttributesCount: 0,
    };
    const byMetric = exportPoints(this.measurements, startMs, endMs, u.intervalMs, u.temporality);
    let points = 0;
    const metrics = [...byMetric].map(([name, dataPoints]) => {
      points += dataPoints.length;
      const meta = METRICS[name] ?? { description: '', unit: '' };
      return {
        name,
        description: meta.description,
        unit: meta.unit,
        sum: {
          aggregationTemporality: u.temporality === 'delta' ? (1 as const) : (2 as const),
          isMonotonic: true as const,
          dataPoints,
        },
      };
    });
    const scope = (name: string) => ({ name, version: u.version });
    const times = this.records.map((r) => Number(r.timeUnixNano.slice(0, -6)));
    const truth: SessionTruth = {
      sessionId: this.sessionId,
      user: dev.email,
      team: dev.team,
      version: u.version,
      temporality: u.temporality,
      first: iso(Math.min(...times)),
      last: iso(Math.max(...times)),
      prompts: this.s.prompts,
      requests: this.s.requests,
      errors: this.s.errors,
      toolCalls: this.s.toolCalls,
      commits: this.s.commits,
      pullRequests: this.s.pullRequests,
      linesAdded: this.s.linesAdded,
      linesRemoved: this.s.linesRemoved,
      tokens: { ...this.tokens },
      costUsd: formatUsd(this.cost),
      clientCostUsd: formatUsd(this.client),
      requestIds: this.traits.requestId,
      logsMissing: this.s.logsMissing,
      sampleRequestId: this.s.sample,
    };
    return {
      logs: { resource, scopeLogs: [{ scope: scope(EVENTS_SCOPE), logRecords: this.records }] },
      records: this.records.length,
      metrics:
        metrics.length === 0
          ? null
          : { resource, scopeMetrics: [{ scope: scope(METRICS_SCOPE), metrics }] },
      points,
      tally: {
        truth,
        costPicos: this.cost,
        clientPicos: this.client,
        cumulative: u.temporality === 'cumulative',
      },
    };
  }
}
