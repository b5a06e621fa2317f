/** `tokenledger sessions`: the costliest Claude Code / GenAI sessions, or developers, from application telemetry. */
import { parseTime } from '../../analyse/index.ts';
import { AppError, formatUsd, formatUsdHuman } from '../../core/index.ts';
import type { SessionSummary, UserSummary } from '../../store/index.ts';
import { int, parse, str } from '../args.ts';
import { type CliContext, EXIT, print, withRuntime } from '../context.ts';
import { compact, csv, type OutputFormat, outputFormat, renderTable } from '../format.ts';

export const SESSIONS_HELP = `Usage: tokenledger sessions [--since 7d|DATE] [--until DATE] [--by session|user]
                          [--user EMAIL] [--limit 20] [--format table|csv|json] [--db FILE]

Top sessions from the telemetry tokenledger collect received: who, when, how long, cost (a call
the ledger holds a log or gateway record of costs what that record costs; any other call is
priced from its tokens with the catalog), tool calls, commits and pull requests.
  SESSION   the session id's first 8 characters (the full id in csv and json).
  WALL      first to last event of the session.
  ACTIVE    claude_code.active_time.total (keyboard + CLI time); idle time is WALL less ACTIVE,
            never below 0. '-': the session sent no active-time metric.
  $/COMMIT  cost ÷ commits; $/ACT H cost per active hour ('-': ÷ 0). Unit costs are rounded half
            up to a pico-USD.
  The table leaves out what csv and json carry besides: requests, tokens, Claude Code's own cost
  estimate (costReportedUsd), idle and active keyboard/CLI time, accepted and rejected tool
  decisions, cost per pull request.
--by user   one row per developer (user.email, else user.id): sessions, requests, cost, commits,
            PRs, active hours, cost per commit and per active hour, tool calls and the share of
            tool permission decisions accepted.
--user X    only that developer's sessions.
--format    table (default, fits 100 columns), csv or json: every field, exact amounts as decimal
            USD strings, times in ms. --json is --format json.`;

const usdOrNull = (p: bigint | null) => (p === null ? null : formatUsd(p));
const human = (p: bigint | null) => (p === null ? '-' : formatUsdHuman(p));

/** 95m → "1h35m"; under an hour "35m". */
function hm(ms: number | null): string {
  if (ms === null) return '-';
  const minutes = Math.round(ms / 60_000);
  return minutes < 60
    ? `${minutes}m`
    : `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

const rate = (r: number | null) => (r === null ? '-' : `${(r * 100).toFixed(1)}%`);

function sessionJson(s: SessionSummary) {
  return {
    sessionId: s.sessionId,
    user: s.user,
    first: new Date(s.first).toISOString(),
    last: new Date(s.last).toISOString(),
    durationMs: s.last - s.first,
    activeMs: s.activeMs,
    activeUserMs: s.activeUserMs,
    activeCliMs: s.activeCliMs,
    idleMs: s.idleMs,
    requests: s.requests,
    tokens: s.tokens.toString(),
    costUsd: formatUsd(s.costPicos),
    unpricedRequests: s.unpricedRequests,
    costReportedUsd: s.costReportedUsd,
    toolCalls: s.toolCalls,
    toolAccepts: s.toolAccepts,
    toolRejects: s.toolRejects,
    commits: s.commits.toString(),
    pullRequests: s.pullRequests.toString(),
    costPerCommitUsd: usdOrNull(s.costPerCommitPicos),
    costPerPullRequestUsd: usdOrNull(s.costPerPullRequestPicos),
    costPerActiveHourUsd: usdOrNull(s.costPerActiveHourPicos),
  };
}

function userJson(u: UserSummary) {
  return {
    user: u.user,
    sessions: u.sessions,
    requests: u.requests,
    tokens: u.tokens.toString(),
    costUsd: formatUsd(u.costPicos),
    unpricedRequests: u.unpricedRequests,
    commits: u.commits.toString(),
    pullRequests: u.pullRequests.toString(),
    activeMs: u.activeMs,
    toolCalls: u.toolCalls,
    toolAccepts: u.toolAccepts,
    toolRejects: u.toolRejects,
    toolAcceptRate: u.toolAcceptRate,
    costPerCommitUsd: usdOrNull(u.costPerCommitPicos),
    costPerPullRequestUsd: usdOrNull(u.costPerPullRequestPicos),
    costPerActiveHourUsd: usdOrNull(u.costPerActiveHourPicos),
  };
}

type SessionJson = ReturnType<typeof sessionJson>;
type UserJson = ReturnType<typeof userJson>;
/** CSV columns: every JSON field, in the JSON's order. */
const SESSION_FIELDS: readonly (keyof SessionJson)[] = [
  'sessionId',
  'user',
  'first',
  'last',
  'durationMs',
  'activeMs',
  'activeUserMs',
  'activeCliMs',
  'idleMs',
  'requests',
  'tokens',
  'costUsd',
  'unpricedRequests',
  'costReportedUsd',
  'toolCalls',
  'toolAccepts',
  'toolRejects',
  'commits',
  'pullRequests',
  'costPerCommitUsd',
  'costPerPullRequestUsd',
  'costPerActiveHourUsd',
];
const USER_FIELDS: readonly (keyof UserJson)[] = [
  'user',
  'sessions',
  'requests',
  'tokens',
  'costUsd',
  'unpricedRequests',
  'commits',
  'pullRequests',
  'activeMs',
  'toolCalls',
  'toolAccepts',
  'toolRejects',
  'toolAcceptRate',
  'costPerCommitUsd',
  'costPerPullRequestUsd',
  'costPerActiveHourUsd',
];

/** A session id as a table shows it: its first 8 characters (UUIDs differ there), the rest in csv and json. */
const shortSession = (id: string) => (id.length > 9 ? `${id.slice(0, 8)}…` : id);
const cost = (picos: bigint, unpriced: number) =>
  `${formatUsdHuman(picos)}${unpriced > 0 ? '*' : ''}`;

/** Fits 100 columns: the user column gives way first (shortened with "…"). */
function sessionsTable(sessions: readonly SessionSummary[]): string {
  const headers = [
    'SESSION',
    'USER',
    'STARTED',
    'WALL',
    'ACTIVE',
    'COST',
    'TOOLS',
    'COMMITS',
    'PRS',
    '$/COMMIT',
    '$/ACT H',
  ];
  return renderTable(
    headers,
    sessions.map((s) => [
      shortSession(s.sessionId),
      s.user ?? '(unknown)',
      new Date(s.first).toISOString().slice(5, 16).replace('T', ' '),
      hm(s.last - s.first),
      hm(s.activeMs),
      cost(s.costPicos, s.unpricedRequests),
      compact(s.toolCalls),
      compact(s.commits),
      compact(s.pullRequests),
      human(s.costPerCommitPicos),
      human(s.costPerActiveHourPicos),
    ]),
    // STARTED is not a key to shorten: right-aligned like the numbers (all its values have one width).
    headers.map((_, i) => i >= 2),
  );
}

function usersTable(users: readonly UserSummary[]): string {
  const headers = [
    'USER',
    'SESSIONS',
    'REQS',
    'COST',
    'COMMITS',
    'PRS',
    'ACTIVE',
    '$/COMMIT',
    '$/ACT H',
    'TOOLS',
    'ACCEPTED',
  ];
  return renderTable(
    headers,
    users.map((u) => [
      u.user ?? '(unknown)',
      compact(u.sessions),
      compact(u.requests),
      cost(u.costPicos, u.unpricedRequests),
      compact(u.commits),
      compact(u.pullRequests),
      hm(u.activeMs),
      human(u.costPerCommitPicos),
      human(u.costPerActiveHourPicos),
      compact(u.toolCalls),
      rate(u.toolAcceptRate),
    ]),
    headers.map((_, i) => i >= 1),
  );
}

const UNPRICED_NOTE =
  '* includes requests of models without a catalog price (tokens counted, cost not in the total).';

/** Sessions the table cannot show: Claude Code sent their metrics but not its events. */
export function metricOnlyNote(n: number): string {
  const sessions = `${n.toLocaleString('en-US')} Claude Code session${n === 1 ? '' : 's'}`;
  return `\n${sessions} in this range sent metrics but no API-request events: not listed.\nSet OTEL_LOGS_EXPORTER=otlp too (the events carry each call's tokens and cost).`;
}

/** `sessions` output: csv and json carry every field; the table fits 100 columns. */
export function renderSessions(sessions: readonly SessionSummary[], format: OutputFormat): string {
  if (format === 'json') return JSON.stringify(sessions.map(sessionJson));
  if (format === 'csv') return csv(sessions.map(sessionJson), SESSION_FIELDS);
  if (sessions.length === 0)
    return 'No sessions in this range: point Claude Code at `tokenledger collect` (see its --help).';
  const unpriced = sessions.some((s) => s.unpricedRequests > 0);
  return [sessionsTable(sessions), ...(unpriced ? ['', UNPRICED_NOTE] : [])].join('\n');
}

/** `sessions --by user` output, likewise. */
export function renderUsers(users: readonly UserSummary[], format: OutputFormat): string {
  if (format === 'json') return JSON.stringify(users.map(userJson));
  if (format === 'csv') return csv(users.map(userJson), USER_FIELDS);
  if (users.length === 0)
    return 'No telemetry in this range: point Claude Code at `tokenledger collect`.';
  const unpriced = users.some((u) => u.unpricedRequests > 0);
  return [usersTable(users), ...(unpriced ? ['', UNPRICED_NOTE] : [])].join('\n');
}

export async function sessionsCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {
    since: { type: 'string' },
    until: { type: 'string' },
    limit: { type: 'string' },
    by: { type: 'string' },
    user: { type: 'string' },
    json: { type: 'boolean' },
    format: { type: 'string' },
  });
  if (flags.help) {
    print(ctx, SESSIONS_HELP);
    return EXIT.ok;
  }
  const format = outputFormat(str(flags, 'format'), flags.json === true);
  if (positionals.length > 0)
    throw new AppError('cli.usage', `unexpected argument ${positionals[0]}\n\n${SESSIONS_HELP}`);
  const by = str(flags, 'by') ?? 'session';
  if (by !== 'session' && by !== 'user')
    throw new AppError('cli.usage', `--by must be session or user, got ${by}`);
  const now = ctx.now();
  const from = parseTime(str(flags, 'since') ?? '7d', now, '--since');
  const until = str(flags, 'until');
  const to = until === undefined ? now + 1 : parseTime(until, now, '--until');
  const user = str(flags, 'user');
  const limit = int(flags, 'limit', 20);
  const scope = { from, to, ...(user !== undefined ? { user } : {}) };

  if (by === 'user') {
    const users = (
      await withRuntime(ctx, flags, (rt) =>
        rt.store.telemetry.telemetryReport({ kind: 'users', ...scope }),
      )
    ).slice(0, limit);
    print(ctx, renderUsers(users, format));
    return EXIT.ok;
  }

  const [sessions, metricOnly] = await withRuntime(ctx, flags, async (rt) => [
    await rt.store.telemetry.telemetryReport({ kind: 'sessions', ...scope, limit }),
    await rt.store.telemetry.metricOnlySessions(from, to),
  ]);
  print(ctx, renderSessions(sessions, format));
  // Said where a person reads, never into csv or json.
  if (format === 'table' && user === undefined && metricOnly > 0)
    print(ctx, metricOnlyNote(metricOnly));
  return EXIT.ok;
}
