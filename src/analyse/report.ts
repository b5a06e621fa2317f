/** The spend report: a UsageQuery from user terms, rows and totals, and the unpriced usage that must be shown. */
import { AppError, formatUsd } from '../core/index.ts';
import {
  FIXED_GROUP_KEYS,
  type GroupKey,
  type Store,
  TELEMETRY_GROUP_KEYS,
  type UnpricedModel,
  type UsageQuery,
  type UsageRow,
} from '../store/index.ts';
import { shortModel } from './model-name.ts';
import { parseTime } from './time-range.ts';

export interface ReportRequest {
  readonly by: readonly string[];
  readonly since?: string;
  readonly until?: string;
  readonly where: readonly string[];
  readonly limit?: number;
  /** `list` (default) or `billed` (after `reconcile`). */
  readonly cost?: string;
}

export interface Report {
  readonly query: UsageQuery;
  readonly rows: readonly UsageRow[];
  readonly total: UsageRow;
  readonly unpriced: readonly UnpricedModel[];
  /** What may explain an empty report or an empty column: a filter value or metadata key no record has. */
  readonly notes: readonly string[];
}

const ALIASES: Readonly<Record<string, GroupKey>> = {
  users: 'user',
  teams: 'team',
  models: 'model',
  date: 'day',
  ops: 'operation',
  cost_centre: 'cost_center',
  costcenter: 'cost_center',
  app: 'application',
  env: 'environment',
  principal: 'identity',
};

/** A dimension name as a user types it: a fixed key, an alias, or any other request-metadata key. */
export function toGroupKey(name: string): GroupKey {
  const n = name.trim();
  if (n.length === 0) throw new AppError('analyse.bad_dimension', 'empty dimension name');
  if ((FIXED_GROUP_KEYS as readonly string[]).includes(n)) return n as GroupKey;
  const alias = ALIASES[n.toLowerCase()];
  if (alias) return alias;
  if (n.startsWith('meta:')) return n as GroupKey;
  return `meta:${n}`;
}

export function buildQuery(req: ReportRequest, now: number): UsageQuery {
  const where = req.where.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0)
      throw new AppError('analyse.bad_filter', `--where ${JSON.stringify(w)}: expected DIM=VALUE`);
    return { key: toGroupKey(w.slice(0, eq)), value: w.slice(eq + 1) };
  });
  if (req.cost !== undefined && req.cost !== 'list' && req.cost !== 'billed') {
    throw new AppError('analyse.bad_cost', `--cost must be list or billed, got ${req.cost}`);
  }
  if (req.limit !== undefined && (!Number.isSafeInteger(req.limit) || req.limit < 1))
    throw new AppError('analyse.bad_limit', `--limit must be 1 or more, got ${req.limit}`);
  const since = req.since !== undefined ? parseTime(req.since, now, '--since') : undefined;
  const until = req.until !== undefined ? parseTime(req.until, now, '--until') : undefined;
  if (since !== undefined && until !== undefined && since >= until)
    throw new AppError(
      'analyse.bad_time',
      `--since ${req.since} (${iso(since)}) is not before --until ${req.until} (${iso(until)}): the range is empty`,
    );
  return {
    groupBy: req.by.map(toGroupKey),
    where,
    ...(req.cost === 'billed' ? { cost: 'billed' as const } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(req.limit !== undefined ? { limit: req.limit } : {}),
  };
}

const iso = (ms: number) => new Date(ms).toISOString().replace(':00.000Z', 'Z');

/** Values a note lists at most. */
const SHOWN_VALUES = 12;

export async function runReport(store: Store, req: ReportRequest, now: number): Promise<Report> {
  const query = await withModelNames(store, buildQuery(req, now));
  const { rows, total } = await store.queryUsage(query);
  // Unpriced usage is rare: look for its models only when the total says there is some. (With billed dollars,
  // "unpriced" records are those no reconciled bill covers; the note says so instead.)
  const unpriced =
    total.unpricedRequests > 0 && query.cost !== 'billed' ? await store.unpricedModels(query) : [];
  return { query, rows, total, unpriced, notes: await reportNotes(store, query, rows, total) };
}

/** The query's time range, without its filters. */
const rangeOf = (query: UsageQuery): Omit<UsageQuery, 'groupBy'> => ({
  where: [],
  ...(query.since !== undefined ? { since: query.since } : {}),
  ...(query.until !== undefined ? { until: query.until } : {}),
});

/**
 * `--where model=claude-sonnet-4-5`: the short name tables show stands for the full model id it shortens (when it
 * names exactly one; several is a usage error that lists them).
 */
async function withModelNames(store: Store, query: UsageQuery): Promise<UsageQuery> {
  // A full id shortens to something else; only a value that is its own short name may stand for others.
  const short = (w: UsageQuery['where'][number]) =>
    w.key === 'model' && shortModel(w.value) === w.value;
  if (!query.where.some(short)) return query;
  const models = await store.distinctValues('model', rangeOf(query), 10_000);
  const where = query.where.map((w) => {
    if (!short(w) || models.includes(w.value)) return w;
    const full = models.filter((m) => shortModel(m) === w.value);
    if (full.length > 1)
      throw new AppError(
        'analyse.bad_filter',
        `--where model=${w.value} names several models: ${full.join(', ')}; give the full id`,
      );
    return full.length === 1 ? { ...w, value: full[0] as string } : w;
  });
  return { ...query, where };
}

/**
 * Why a report may be empty, or a column all "(none)": a --where value (or a request-metadata key) no record in the
 * range has, with the values that are there; a --by metadata key no record has. Asked of the store only then.
 */
async function reportNotes(
  store: Store,
  query: UsageQuery,
  rows: readonly UsageRow[],
  total: UsageRow,
): Promise<string[]> {
  const notes: string[] = [];
  const range = rangeOf(query);
  const listed = (values: readonly string[]) =>
    values.length > SHOWN_VALUES
      ? `${values.slice(0, SHOWN_VALUES).join(', ')}, …`
      : values.join(', ');
  // A filter that empties the report; or one of several values of a key (alternatives), which does not.
  const alternatives = (key: string) => query.where.filter((w) => w.key === key).length > 1;
  if (query.cost !== 'billed')
    for (const w of query.where) {
      if (total.requests > 0 && !alternatives(w.key)) continue;
      // Is the value there at all in the range (another filter may be what empties the report)?
      if ((await store.distinctValues(w.key, { ...range, where: [w] }, 1)).length > 0) continue;
      const values = await store.distinctValues(w.key, range, SHOWN_VALUES + 1);
      const name = w.key.replace(/^meta:/, '');
      const note =
        values.length === 0
          ? w.key.startsWith('meta:')
            ? `no record in this range has the request-metadata key "${name}" (--where ${name}=…); see \`report --help\` for the dimensions`
            : `no record in this range has a ${name}`
          : `no record in this range has ${name}=${w.value}; ${name} values here: ${listed(values)}`;
      // Two values of a key no record has say it once.
      if (!notes.includes(note)) notes.push(note);
    }
  for (const key of query.groupBy) {
    if (!key.startsWith('meta:') || rows.length === 0 || query.cost === 'billed') continue;
    if (rows.some((r) => r.keys[key] !== null && r.keys[key] !== undefined)) continue;
    // The rows shown may be all (none) while rows a --limit left out are not.
    if ((await store.distinctValues(key, { ...range, where: query.where }, 1)).length > 0) continue;
    const name = key.slice(5);
    notes.push(
      `no record in this report has the request-metadata key "${name}" (--by ${name}); see \`report --help\` for the dimensions`,
    );
  }
  return notes;
}

/** The JSON shape of a row: group keys plus counters; money as a decimal string. */
/** The counters of a report row, as JSON and CSV name them, in that order. */
export const REPORT_COUNTERS = [
  'requests',
  'errors',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'cost_usd',
  'unpriced_requests',
] as const;

/** The counters of a code-edit-decision row (`--by language`), after the report counters (null there). */
export const DECISION_COUNTERS = ['decisions', 'accepts', 'rejects', 'accept_rate'] as const;

/**
 * Names a bare request-metadata key cannot take in JSON and CSV: the counters, and the telemetry dimensions
 * (`tool`, `language`…), which are no ledger dimension but group telemetry reports.
 */
const TAKEN_NAMES: ReadonlySet<string> = new Set([
  ...REPORT_COUNTERS,
  ...DECISION_COUNTERS,
  ...TELEMETRY_GROUP_KEYS,
]);

/**
 * What a group key is called in JSON and CSV: a request-metadata key by its name, as it is asked for (`--by
 * ticket` gives `ticket`), unless that name alone means something else (a dimension, an alias, a counter): then
 * `meta:NAME`, as `--by meta:NAME` asks for it.
 */
export function columnName(key: string): string {
  if (!key.startsWith('meta:')) return key;
  const name = key.slice(5);
  return !TAKEN_NAMES.has(name) && name.trim() !== '' && toGroupKey(name) === key ? name : key;
}

/** A row's group keys under their column names. */
export function keysJson(
  keys: Readonly<Record<string, string | null | undefined>>,
): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const k in keys) out[columnName(k)] = keys[k] ?? null;
  return out;
}

export function rowToJson(row: UsageRow): Record<string, string | number | null> {
  return {
    ...keysJson(row.keys),
    requests: row.requests,
    errors: row.errors,
    input_tokens: Number(row.inputTokens),
    output_tokens: Number(row.outputTokens),
    cache_read_tokens: Number(row.cacheReadTokens),
    cache_write_tokens: Number(row.cacheWriteTokens),
    cost_usd: formatUsd(row.costPicos),
    unpriced_requests: row.unpricedRequests,
  };
}
