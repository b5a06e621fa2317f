/**
 * `report --by tool|language|query_source|terminal|version|prompt`: the spend report over application telemetry
 * (Claude Code / GenAI API-request events) instead of the invocation-log ledger. Dimensions both sides know
 * (session, user, model, team…, day…) combine with them; ledger-only ones (account, region…) are refused.
 */
import { AppError } from '../core/index.ts';
import {
  FIXED_GROUP_KEYS,
  type Store,
  TELEMETRY_GROUP_KEYS,
  type TelemetryGroupKey,
  type TelemetryUsageQuery,
  type TelemetryUsageResult,
} from '../store/index.ts';
import { type ReportRequest, toGroupKey } from './report.ts';
import { parseTime } from './time-range.ts';

/** Dimensions only application telemetry has: asking for any of them makes the report a telemetry report. */
export const TELEMETRY_ONLY_DIMENSIONS = [
  'tool',
  'language',
  'query_source',
  'terminal',
  'version',
  'prompt',
] as const;

const TELEMETRY_ALIASES: Readonly<Record<string, (typeof TELEMETRY_ONLY_DIMENSIONS)[number]>> = {
  tools: 'tool',
  tool_name: 'tool',
  lang: 'language',
  languages: 'language',
  'query-source': 'query_source',
  querysource: 'query_source',
  'terminal.type': 'terminal',
  'app.version': 'version',
  prompts: 'prompt',
  'prompt.id': 'prompt',
  prompt_id: 'prompt',
};

export interface TelemetryReport {
  readonly query: TelemetryUsageQuery;
  readonly result: TelemetryUsageResult;
}

function telemetryOnly(name: string): TelemetryGroupKey | null {
  const n = name.trim().toLowerCase();
  if ((TELEMETRY_ONLY_DIMENSIONS as readonly string[]).includes(n)) return n as TelemetryGroupKey;
  return TELEMETRY_ALIASES[n] ?? null;
}

const dimensionOf = (where: string) => where.slice(0, Math.max(0, where.indexOf('=')));

/** Whether the request names a telemetry-only dimension in --by or --where. */
export function isTelemetryReport(req: Pick<ReportRequest, 'by' | 'where'>): boolean {
  return [...req.by, ...req.where.map(dimensionOf)].some((n) => telemetryOnly(n) !== null);
}

const LEDGER_ONLY = FIXED_GROUP_KEYS.filter(
  (k) => !(TELEMETRY_GROUP_KEYS as readonly string[]).includes(k),
);

/** A dimension name in a telemetry report: telemetry-only, shared with the ledger, or an attribution attribute. */
export function toTelemetryKey(name: string, first: string): TelemetryGroupKey {
  const own = telemetryOnly(name);
  if (own !== null) return own;
  const key = toGroupKey(name);
  if (key.startsWith('meta:') || (TELEMETRY_GROUP_KEYS as readonly string[]).includes(key))
    return key as TelemetryGroupKey;
  throw new AppError(
    'analyse.bad_dimension',
    `${key} is a ledger dimension (invocation logs) and ${first} a telemetry one (Claude Code / GenAI events): ` +
      `they cannot be combined in one report. With ${first} use: ${TELEMETRY_GROUP_KEYS.join(' ')} ` +
      `(or an OTEL_RESOURCE_ATTRIBUTES key); ledger-only: ${LEDGER_ONLY.join(' ')}.`,
  );
}

export function buildTelemetryQuery(req: ReportRequest, now: number): TelemetryUsageQuery {
  const first =
    [...req.by, ...req.where.map(dimensionOf)].map(telemetryOnly).find((k) => k !== null) ?? 'tool';
  if (req.cost !== undefined && req.cost !== 'list')
    throw new AppError(
      'analyse.bad_cost',
      `--cost ${req.cost} is for the ledger: ${first} comes from telemetry, priced from its tokens with the catalog (list prices)`,
    );
  const where = req.where.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0)
      throw new AppError('analyse.bad_filter', `--where ${JSON.stringify(w)}: expected DIM=VALUE`);
    return { key: toTelemetryKey(w.slice(0, eq), first), value: w.slice(eq + 1) };
  });
  return {
    groupBy: req.by.map((b) => toTelemetryKey(b, first)),
    where,
    ...(req.since !== undefined ? { since: parseTime(req.since, now, '--since') } : {}),
    ...(req.until !== undefined ? { until: parseTime(req.until, now, '--until') } : {}),
    ...(req.limit !== undefined ? { limit: req.limit } : {}),
  };
}

export async function runTelemetryReport(
  store: Store,
  req: ReportRequest,
  now: number,
): Promise<TelemetryReport> {
  const query = buildTelemetryQuery(req, now);
  const result = await store.telemetry.telemetryReport({ kind: 'usage', ...query });
  return { query, result };
}

/** What a telemetry report's reader must know, one line each. */
export function telemetryReportNotes(report: TelemetryReport): string[] {
  const notes: string[] = [];
  const r = report.result;
  if (r.measure === 'edit_decisions') {
    notes.push(
      'Code-edit permission decisions (claude_code.code_edit_tool.decision) by language. Tokens and cost cannot be',
      'tied to a language: the metric carries a session but no prompt id, so nothing is apportioned.',
    );
    return notes;
  }
  notes.push(
    'From application telemetry (Claude Code / GenAI api_request and api_error events), priced from',
    'their tokens with the catalog; not the invocation-log ledger (the same calls may be there too).',
  );
  if (report.query.groupBy.includes('tool') || report.query.where.some((w) => w.key === 'tool'))
    notes.push(
      "Apportioned to tools: each prompt's requests, tokens and cost are split evenly over its tool",
      'calls in whole units (pico-USD), remainders to the earliest calls, so the shares add up exactly;',
      '(no tool): prompts without tool calls and requests without a prompt id.',
    );
  if (r.total.unpricedRequests > 0) {
    notes.push(
      `* ${r.total.unpricedRequests} requests of models without a catalog price (tokens counted, cost NOT in totals):`,
    );
    for (const u of r.unpriced.slice(0, 8))
      notes.push(`  ${u.model}: ${u.requests} requests, ${u.tokens} tokens`);
    if (r.unpriced.length > 8) notes.push(`  … and ${r.unpriced.length - 8} more`);
  }
  return notes;
}
