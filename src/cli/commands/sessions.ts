/** `tokenledger sessions`: the costliest Claude Code / GenAI sessions, from application telemetry. */
import { parseTime } from '../../analyse/index.ts';
import { formatUsd, formatUsdHuman } from '../../core/index.ts';
import { int, parse, str } from '../args.ts';
import { type CliContext, EXIT, print, withRuntime } from '../context.ts';
import { compact, renderTable } from '../format.ts';

export const SESSIONS_HELP = `Usage: tokenledger sessions [--since 7d|DATE] [--until DATE] [--limit 20] [--json] [--db FILE]

Top sessions from the telemetry tokenledger collect received: who, when, how long, API requests,
tokens, cost recomputed from the tokens with the catalog (Claude Code's own estimate beside it),
tool calls, commits and pull requests.`;

export async function sessionsCommand(ctx: CliContext): Promise<number> {
  const { flags } = parse(ctx.argv, {
    since: { type: 'string' },
    until: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (flags.help) {
    print(ctx, SESSIONS_HELP);
    return EXIT.ok;
  }
  const now = ctx.now();
  const from = parseTime(str(flags, 'since') ?? '7d', now, '--since');
  const until = str(flags, 'until');
  const to = until === undefined ? now + 1 : parseTime(until, now, '--until');
  const sessions = await withRuntime(ctx, flags, (rt) =>
    rt.store.telemetry.sessions(from, to, int(flags, 'limit', 20)),
  );
  if (flags.json === true) {
    print(
      ctx,
      JSON.stringify(
        sessions.map((s) => ({
          ...s,
          first: new Date(s.first).toISOString(),
          last: new Date(s.last).toISOString(),
          tokens: s.tokens.toString(),
          costUsd: formatUsd(s.costPicos),
          costPicos: undefined,
          commits: s.commits.toString(),
          pullRequests: s.pullRequests.toString(),
        })),
      ),
    );
    return EXIT.ok;
  }
  if (sessions.length === 0) {
    print(
      ctx,
      'No sessions in this range: point Claude Code at `tokenledger collect` (see its --help).',
    );
    return EXIT.ok;
  }
  const minutes = (ms: number) => `${Math.round(ms / 60_000)}m`;
  print(
    ctx,
    renderTable(
      [
        'SESSION',
        'USER',
        'STARTED',
        'DURATION',
        'REQUESTS',
        'TOKENS',
        'COST',
        'CLIENT EST.',
        'TOOLS',
        'COMMITS',
        'PRS',
      ],
      sessions.map((s) => [
        s.sessionId,
        s.user ?? '(unknown)',
        new Date(s.first).toISOString().slice(0, 16).replace('T', ' '),
        minutes(s.last - s.first),
        compact(s.requests),
        compact(s.tokens),
        `${formatUsdHuman(s.costPicos)}${s.unpricedRequests > 0 ? '*' : ''}`,
        s.costReportedUsd === null ? '-' : `$${Number(s.costReportedUsd).toFixed(2)}`,
        compact(s.toolCalls),
        compact(s.commits),
        compact(s.pullRequests),
      ]),
      [false, false, false, true, true, true, true, true, true, true, true],
      140,
    ),
  );
  return EXIT.ok;
}
