/** `tokenledger sessions`: the costliest Claude Code / GenAI sessions, or developers, from application telemetry. */
import { parseTime } from '../../analyse/index.ts';
import { AppError, formatUsd, formatUsdHuman } from '../../core/index.ts';
import type { SessionSummary, UserSummary } from '../../store/index.ts';
import { int, parse, str } from '../args.ts';
import { type CliContext, EXIT, print, withRuntime } from '../context.ts';
import { compact, renderTable } from '../format.ts';

export const SESSIONS_HELP = `Usage: tokenledger sessions [--since 7d|DATE] [--until DATE] [--by session|user]
                          [--user EMAIL] [--limit 20] [--json] [--db FILE]

Top sessions from the telemetry tokenledger collect received: who, when, how long, API requests,
tokens, cost recomputed from the tokens with the catalog (Claude Code's own estimate beside it),
tool calls, commits and pull requests.
  WALL      first to last event of the session.
  ACTIVE    claude_code.active_time.total (keyboard + CLI time); IDLE = WALL less ACTIVE, never
            below 0. '-': the session sent no active-time metric.
  $/COMMIT  cost ÷ commits; $/ACTIVE H cost per active hour ('-': ÷ 0). Cost per pull request is
            in --json (costPerPullRequestUsd). Unit costs are rounded half up to a pico-USD.
--by user   one row per developer (user.email, else user.id): sessions, cost, commits, PRs, active
            hours, cost per commit and per active hour, tool calls and the share of tool permission
            decisions accepted.
--user X    only that developer's sessions.
--json      exact amounts as decimal USD strings, times in ms.`;

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

function sessionsTable(sessions: readonly SessionSummary[]): string {
  const headers = [
    'SESSION',
    'USER',
    'STARTED',
    'WALL',
    'ACTIVE',
    'IDLE',
    'REQS',
    'TOKENS',
    'COST',
    'CLIENT EST.',
    'TOOLS',
    'COMMITS',
    'PRS',
    '$/COMMIT',
    '$/ACTIVE H',
  ];
  return renderTable(
    headers,
    sessions.map((s) => [
      s.sessionId,
      s.user ?? '(unknown)',
      new Date(s.first).toISOString().slice(0, 16).replace('T', ' '),
      hm(s.last - s.first),
      hm(s.activeMs),
      hm(s.idleMs),
      compact(s.requests),
      compact(s.tokens),
      `${formatUsdHuman(s.costPicos)}${s.unpricedRequests > 0 ? '*' : ''}`,
      s.costReportedUsd === null ? '-' : `$${Number(s.costReportedUsd).toFixed(2)}`,
      compact(s.toolCalls),
      compact(s.commits),
      compact(s.pullRequests),
      human(s.costPerCommitPicos),
      human(s.costPerActiveHourPicos),
    ]),
    headers.map((_, i) => i >= 3),
    150,
  );
}

function usersTable(users: readonly UserSummary[]): string {
  const headers = [
    'USER',
    'SESSIONS',
    'REQUESTS',
    'COST',
    'COMMITS',
    'PRS',
    'ACTIVE',
    '$/COMMIT',
    '$/ACTIVE H',
    'TOOLS',
    'ACCEPTED',
  ];
  return renderTable(
    headers,
    users.map((u) => [
      u.user ?? '(unknown)',
      compact(u.sessions),
      compact(u.requests),
      `${formatUsdHuman(u.costPicos)}${u.unpricedRequests > 0 ? '*' : ''}`,
      compact(u.commits),
      compact(u.pullRequests),
      hm(u.activeMs),
      human(u.costPerCommitPicos),
      human(u.costPerActiveHourPicos),
      compact(u.toolCalls),
      rate(u.toolAcceptRate),
    ]),
    headers.map((_, i) => i >= 1),
    140,
  );
}

const UNPRICED_NOTE =
  '* includes requests of models without a catalog price (tokens counted, cost not in the total).';

export async function sessionsCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {
    since: { type: 'string' },
    until: { type: 'string' },
    limit: { type: 'string' },
    by: { type: 'string' },
    user: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (flags.help) {
    print(ctx, SESSIONS_HELP);
    return EXIT.ok;
  }
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
    if (flags.json === true) {
      print(ctx, JSON.stringify(users.map(userJson)));
      return EXIT.ok;
    }
    if (users.length === 0) {
      print(ctx, 'No telemetry in this range: point Claude Code at `tokenledger collect`.');
      return EXIT.ok;
    }
    const unpriced = users.some((u) => u.unpricedRequests > 0);
    print(ctx, [usersTable(users), ...(unpriced ? ['', UNPRICED_NOTE] : [])].join('\n'));
    return EXIT.ok;
  }

  const sessions = await withRuntime(ctx, flags, (rt) =>
    rt.store.telemetry.telemetryReport({ kind: 'sessions', ...scope, limit }),
  );
  if (flags.json === true) {
    print(ctx, JSON.stringify(sessions.map(sessionJson)));
    return EXIT.ok;
  }
  if (sessions.length === 0) {
    print(
      ctx,
      'No sessions in this range: point Claude Code at `tokenledger collect` (see its --help).',
    );
    return EXIT.ok;
  }
  const unpriced = sessions.some((s) => s.unpricedRequests > 0);
  print(ctx, [sessionsTable(sessions), ...(unpriced ? ['', UNPRICED_NOTE] : [])].join('\n'));
  return EXIT.ok;
}
