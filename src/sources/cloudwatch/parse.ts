/**
 * The file form of the CloudWatch source, read offline: saved GetMetricData requests with their responses
 * (`MetricDataQueries` + `MetricDataResults`, matched by `Id`). Pure and total: every document, query, result and
 * datapoint either becomes points or a reject naming the file, line and query Id; nothing throws or vanishes.
 * A bare response is refused: only the request says which metric and ModelId each result is.
 */
import { documentsOf } from './json-documents.ts';
import {
  compareMetricPoints,
  type MetricPoint,
  type MetricReject,
  metricPointKey,
} from './metric-point.ts';
import {
  describe,
  isObj,
  type Obj,
  querySeries,
  type Series,
  seriesLabel,
} from './query-series.ts';

export interface MetricDefaults {
  readonly region?: string | undefined;
  readonly account?: string | undefined;
}

export interface ParsedMetrics {
  readonly points: MetricPoint[];
  readonly rejects: MetricReject[];
}

const BARE_RESPONSE =
  'a GetMetricData response without its request: which metric and ModelId each result holds is only in the ' +
  "request's MetricDataQueries (matched by Id). Save both in one object, e.g. " +
  "`jq -s '.[0] + .[1]' request.json response.json` where request.json is the --cli-input-json file, " +
  'and add "Region" (and "AccountId") at its top level';

/**
 * Reads one file: a document object, an array of them, or NDJSON (one document per line). Points come out sorted
 * and deduplicated on (region, account, namespace, metric, modelId, tier, stat, period, at); a duplicate with a
 * different value keeps the later one and is reported.
 */
export function parseMetricData(
  text: string,
  source: string,
  defaults: MetricDefaults = {},
): ParsedMetrics {
  const out = new Collector(source);
  for (const doc of documentsOf(text, (line, reason) => out.reject(line, reason)))
    readDocument(doc.value, doc.line, defaults, out);
  return out.finish();
}

/** The same reading over documents already in memory (a fetch's `document`); rejects carry line 0. */
export function readMetricDocuments(
  documents: readonly unknown[],
  source: string,
  defaults: MetricDefaults = {},
): ParsedMetrics {
  const out = new Collector(source);
  for (const doc of documents) readDocument(doc, 0, defaults, out);
  return out.finish();
}

class Collector {
  private readonly points = new Map<string, MetricPoint>();
  readonly rejects: MetricReject[] = [];
  constructor(private readonly source: string) {}

  reject(line: number, reason: string): void {
    this.rejects.push({ source: this.source, line, reason });
  }

  add(point: MetricPoint, line: number, label: string): void {
    const key = metricPointKey(point);
    const before = this.points.get(key);
    if (before !== undefined && before.value !== point.value) {
      const at = new Date(point.at).toISOString();
      this.reject(
        line,
        `${label} at ${at}: a duplicate point with value ${point.value} (was ${before.value}); the later value is kept`,
      );
    }
    this.points.set(key, point);
  }

  finish(): ParsedMetrics {
    const rejects = [...this.rejects].sort((a, b) => a.line - b.line);
    return { points: [...this.points.values()].sort(compareMetricPoints), rejects };
  }
}

interface QueryEntry {
  readonly label: string;
  readonly returnData: boolean;
  readonly series: Series | { readonly error: string };
}

interface ResultState {
  readonly entry: QueryEntry;
  kept: number;
  status: unknown;
  messages: unknown;
}

function readDocument(doc: unknown, line: number, defaults: MetricDefaults, out: Collector): void {
  if (!isObj(doc)) {
    out.reject(
      line,
      `document is ${describe(doc)}, expected an object with MetricDataQueries and MetricDataResults`,
    );
    return;
  }
  const hasQueries = doc.MetricDataQueries !== undefined;
  const hasResults = doc.MetricDataResults !== undefined;
  if (!hasQueries) {
    out.reject(
      line,
      hasResults
        ? BARE_RESPONSE
        : 'not a GetMetricData document: it has neither MetricDataQueries nor MetricDataResults',
    );
    return;
  }
  if (!hasResults) {
    out.reject(line, 'a GetMetricData request without its response: no MetricDataResults');
    return;
  }
  const queries = doc.MetricDataQueries;
  const results = doc.MetricDataResults;
  if (!Array.isArray(queries) || !Array.isArray(results)) {
    const which = Array.isArray(queries) ? 'MetricDataResults' : 'MetricDataQueries';
    out.reject(line, `${which} is ${describe(doc[which])}, expected an array`);
    return;
  }
  const region = scope(doc, 'Region', defaults.region);
  const account = scope(doc, 'AccountId', defaults.account);
  if ('error' in region || 'error' in account) {
    out.reject(line, 'error' in region ? region.error : (account as { error: string }).error);
    return;
  }
  if (region.value === null) {
    out.reject(
      line,
      'no Region: add a top-level "Region" to the document or give a default Region',
    );
    return;
  }
  if (typeof doc.NextToken === 'string' && doc.NextToken !== '') {
    out.reject(line, 'the response has a NextToken: its later pages were not saved with it');
  }
  for (const m of Array.isArray(doc.Messages) ? doc.Messages : []) {
    out.reject(line, `CloudWatch message: ${messageText([m])}`);
  }
  const entries = readQueries(queries, account.value, line, out);
  readResults(results, entries, region.value, line, out);
}

function scope(
  doc: Obj,
  key: 'Region' | 'AccountId',
  fallback: string | undefined,
): { value: string | null } | { error: string } {
  const v = doc[key];
  if (v === undefined || v === null) return { value: fallback ?? null };
  if (typeof v === 'string' && v !== '') return { value: v };
  return { error: `${key} is ${describe(v)}, expected a non-empty string` };
}

function readQueries(
  queries: unknown[],
  account: string | null,
  line: number,
  out: Collector,
): Map<string, QueryEntry> {
  const entries = new Map<string, QueryEntry>();
  queries.forEach((q, i) => {
    const id = isObj(q) ? q.Id : undefined;
    if (typeof id !== 'string' || id === '') {
      out.reject(line, `MetricDataQueries[${i}] has no Id`);
      return;
    }
    if (entries.has(id)) {
      out.reject(line, `query ${id}: a second query with the same Id is ignored`);
      return;
    }
    const query = q as Obj;
    const series = querySeries(query, account);
    const label = 'error' in series ? `query ${id}` : `query ${id} (${seriesLabel(series)})`;
    const entry = { label, returnData: query.ReturnData !== false, series };
    entries.set(id, entry);
    if ('error' in series && entry.returnData) out.reject(line, `${label}: ${series.error}`);
  });
  return entries;
}

function readResults(
  results: unknown[],
  entries: Map<string, QueryEntry>,
  region: string,
  line: number,
  out: Collector,
): void {
  const states = new Map<string, ResultState>();
  results.forEach((r, i) => {
    const id = isObj(r) ? r.Id : undefined;
    if (typeof id !== 'string' || id === '') {
      out.reject(line, `MetricDataResults[${i}] has no Id`);
      return;
    }
    const entry = entries.get(id);
    if (entry === undefined) {
      out.reject(line, `result ${id} matches no query in MetricDataQueries`);
      return;
    }
    const state = states.get(id) ?? { entry, kept: 0, status: undefined, messages: undefined };
    states.set(id, state);
    const result = r as Obj;
    state.status = result.StatusCode;
    state.messages = result.Messages;
    if ('error' in entry.series) {
      if (!entry.returnData) out.reject(line, `${entry.label}: ${entry.series.error}`);
      return;
    }
    state.kept += readDatapoints(result, entry.series, region, entry.label, line, out);
  });
  for (const [id, entry] of entries) {
    if (entry.returnData && !('error' in entry.series) && !states.has(id)) {
      out.reject(line, `${entry.label} has no result in MetricDataResults`);
    }
  }
  for (const state of states.values()) checkStatus(state, line, out);
}

/** Adds the result's datapoints; returns how many were kept. */
function readDatapoints(
  r: Obj,
  series: Series,
  region: string,
  label: string,
  line: number,
  out: Collector,
): number {
  const { Timestamps: ts, Values: vs } = r;
  if (!Array.isArray(ts) || !Array.isArray(vs)) {
    const missing = Array.isArray(ts) ? 'Values' : 'Timestamps';
    out.reject(line, `${label}: its result has no ${missing} array`);
    return 0;
  }
  if (ts.length !== vs.length) {
    out.reject(
      line,
      `${label}: its result has ${ts.length} Timestamps but ${vs.length} Values, so none can be paired; dropped`,
    );
    return 0;
  }
  let kept = 0;
  let bad = 0;
  let firstBad = '';
  ts.forEach((t, k) => {
    const at = epochMs(t);
    const value: unknown = vs[k];
    if (typeof at === 'string' || typeof value !== 'number' || !Number.isFinite(value)) {
      const problem =
        typeof at === 'string' ? at : `value ${JSON.stringify(value)} is not a finite number`;
      if (bad++ === 0) firstBad = `datapoint ${k}: ${problem}`;
      return;
    }
    out.add({ ...series, region, at, value }, line, label);
    kept++;
  });
  if (bad > 0) {
    out.reject(line, `${label}: ${bad} of ${ts.length} datapoints dropped; first: ${firstBad}`);
  }
  return kept;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Epoch ms, or why not. Numbers are epoch seconds, as on the wire; strings are ISO-8601 (UTC if no zone). */
function epochMs(t: unknown): number | string {
  if (typeof t === 'number' && Number.isFinite(t)) {
    if (Math.abs(t) >= 1e11) {
      return `timestamp ${t} looks like epoch milliseconds; the file form takes epoch seconds or ISO-8601`;
    }
    return Math.round(t * 1000);
  }
  if (typeof t === 'string' && ISO.test(t)) {
    const ms = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/.test(t) ? t : `${t}Z`);
    if (!Number.isNaN(ms)) return ms;
  }
  return `timestamp ${JSON.stringify(t)?.slice(0, 40)} is neither ISO-8601 nor epoch seconds`;
}

function checkStatus(state: ResultState, line: number, out: Collector): void {
  const { status, entry, kept } = state;
  if (status === undefined || status === 'Complete') return;
  const keptText = `${kept} datapoint(s) kept`;
  const messages = Array.isArray(state.messages) ? messageText(state.messages) : '';
  const detail = messages === '' ? '' : ` (${messages})`;
  if (status === 'PartialData') {
    out.reject(
      line,
      `${entry.label}: StatusCode PartialData${detail}: CloudWatch had more datapoints (a NextToken was not followed); ${keptText}`,
    );
  } else if (status === 'InternalError' || status === 'Forbidden') {
    out.reject(line, `${entry.label}: StatusCode ${status}${detail}; ${keptText}`);
  } else {
    out.reject(
      line,
      `${entry.label}: unknown StatusCode ${JSON.stringify(status)}${detail}; ${keptText}`,
    );
  }
}

function messageText(messages: unknown[]): string {
  return messages
    .map((m) =>
      isObj(m) ? `${String(m.Code ?? '?')}: ${String(m.Value ?? '')}` : JSON.stringify(m),
    )
    .join('; ');
}
