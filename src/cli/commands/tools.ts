/** `tokenledger tools`: per tool, calls, success, durations, permission decisions and apportioned cost. */
import { parseTime } from '../../analyse/index.ts';
import { AppError, formatUsd, formatUsdHuman } from '../../core/index.ts';
import type { ToolSummary } from '../../store/index.ts';
import { parse, str } from '../args.ts';
import { type CliContext, EXIT, print, withRuntime } from '../context.ts';
import { compact, csv, outputFormat, renderTable } from '../format.ts';

export const TOOLS_HELP = `Usage: tokenledger tools [--since 7d|DATE] [--until DATE] [--by tool|tool,user]
                       [--user EMAIL] [--format table|csv|json] [--db FILE]

Claude Code's tools, from the telemetry tokenledger collect received:
  CALLS, SUCCESS, MEAN, P95   tool_result events: how often, how often it succeeded, mean and
                              95th percentile (interpolated) duration.
  ACCEPTED, REJECTED, RATE    tool_decision events (permission decisions), also per decision
                              source: config, hook, user_permanent, user_temporary, user_abort,
                              user_reject.
  REQUESTS, COST              the API requests in the range apportioned to tools: each prompt's
                              (prompt.id) cost (a call's ledger record's cost, else its tokens
                              priced with the catalog) is split evenly over that prompt's tool_result events in whole
                              pico-USD; the remainder goes one pico each to the earliest calls,
                              so the shares add up to the prompt's cost exactly (requests
                              likewise, in whole requests). Prompts without tool calls, and
                              requests without a prompt id, are "(no tool)": the column adds up
                              to the cost of all API requests in the range.
--by tool,user   one row per tool and developer (user.email, else user.id).
--user X         only that developer.
--format         table (default), csv or json: every field, exact amounts as decimal USD strings;
                 csv gives each decision source two columns (source.accept, source.reject).
                 --json is --format json.`;

const SOURCES = ['config', 'hook', 'user_permanent', 'user_temporary', 'user_abort', 'user_reject'];

const pct = (r: number | null) => (r === null ? '-' : `${(r * 100).toFixed(1)}%`);
const ms = (v: number | null) =>
  v === null ? '-' : v >= 10_000 ? `${(v / 1000).toFixed(1)}s` : `${Math.round(v)}ms`;

function orderedSources(t: ToolSummary): string[] {
  const own = Object.keys(t.bySource);
  return [
    ...SOURCES.filter((s) => own.includes(s)),
    ...own.filter((s) => !SOURCES.includes(s)).sort(),
  ];
}

function toolJson(t: ToolSummary, byUser: boolean) {
  return {
    tool: t.tool,
    ...(byUser ? { user: t.user } : {}),
    calls: t.calls,
    successes: t.successes,
    failures: t.failures,
    successRate: t.successRate,
    meanDurationMs: t.meanDurationMs,
    p95DurationMs: t.p95DurationMs,
    accepts: t.accepts,
    rejects: t.rejects,
    acceptRate: t.acceptRate,
    bySource: Object.fromEntries(
      orderedSources(t).map((s) => {
        const c = t.bySource[s] ?? { accept: 0, reject: 0 };
        const n = c.accept + c.reject;
        return [s, { ...c, acceptRate: n === 0 ? null : c.accept / n }];
      }),
    ),
    requests: t.requests,
    costUsd: formatUsd(t.costPicos),
    unpricedRequests: t.unpricedRequests,
  };
}

/** The JSON fields as columns; the decision sources (every one any row has) as `source.accept` / `source.reject`. */
function toolsCsv(tools: readonly ToolSummary[], byUser: boolean): string {
  const sources = [...new Set(tools.flatMap(orderedSources))];
  const rows = tools.map((t) => {
    const { bySource, ...flat } = toolJson(t, byUser);
    const cells: Record<string, string | number | null> = { ...flat };
    for (const s of sources) {
      cells[`${s}.accept`] = bySource[s]?.accept ?? 0;
      cells[`${s}.reject`] = bySource[s]?.reject ?? 0;
    }
    return cells;
  });
  const fields = TOOL_FIELDS.filter((f) => byUser || f !== 'user');
  return csv(rows, [...fields, ...sources.flatMap((s) => [`${s}.accept`, `${s}.reject`])]);
}

/** toolJson's fields but bySource, in its order (the CSV columns; a test holds the two together). */
export const TOOL_FIELDS = [
  'tool',
  'user',
  'calls',
  'successes',
  'failures',
  'successRate',
  'meanDurationMs',
  'p95DurationMs',
  'accepts',
  'rejects',
  'acceptRate',
  'requests',
  'costUsd',
  'unpricedRequests',
] as const;

export async function toolsCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {
    since: { type: 'string' },
    until: { type: 'string' },
    by: { type: 'string' },
    user: { type: 'string' },
    json: { type: 'boolean' },
    format: { type: 'string' },
  });
  if (flags.help) {
    print(ctx, TOOLS_HELP);
    return EXIT.ok;
  }
  const format = outputFormat(str(flags, 'format'), flags.json === true);
  if (positionals.length > 0)
    throw new AppError('cli.usage', `unexpected argument ${positionals[0]}\n\n${TOOLS_HELP}`);
  const by = (str(flags, 'by') ?? 'tool').replaceAll(' ', '');
  if (by !== 'tool' && by !== 'tool,user' && by !== 'user,tool')
    throw new AppError('cli.usage', `--by must be tool or tool,user, got ${by}`);
  const byUser = by !== 'tool';
  const now = ctx.now();
  const from = parseTime(str(flags, 'since') ?? '7d', now, '--since');
  const until = str(flags, 'until');
  const to = until === undefined ? now + 1 : parseTime(until, now, '--until');
  const user = str(flags, 'user');
  const tools = await withRuntime(ctx, flags, (rt) =>
    rt.store.telemetry.telemetryReport({
      kind: 'tools',
      from,
      to,
      byUser,
      ...(user !== undefined ? { user } : {}),
    }),
  );
  if (format === 'json') {
    print(ctx, JSON.stringify(tools.map((t) => toolJson(t, byUser))));
    return EXIT.ok;
  }
  if (format === 'csv') {
    print(ctx, toolsCsv(tools, byUser));
    return EXIT.ok;
  }
  if (tools.length === 0) {
    print(ctx, 'No tool telemetry in this range: point Claude Code at `tokenledger collect`.');
    return EXIT.ok;
  }
  const who = (t: ToolSummary) => (byUser ? [t.user ?? '(unknown)'] : []);
  const keyHeaders = byUser ? ['TOOL', 'USER'] : ['TOOL'];
  const headers = [
    ...keyHeaders,
    'CALLS',
    'SUCCESS',
    'MEAN',
    'P95',
    'ACCEPTED',
    'REJECTED',
    'RATE',
    'REQUESTS',
    'COST',
  ];
  const total = tools.reduce((a, t) => a + t.costPicos, 0n);
  const rows = tools.map((t) => [
    t.tool,
    ...who(t),
    compact(t.calls),
    pct(t.successRate),
    ms(t.meanDurationMs),
    ms(t.p95DurationMs),
    compact(t.accepts),
    compact(t.rejects),
    pct(t.acceptRate),
    compact(t.requests),
    `${formatUsdHuman(t.costPicos)}${t.unpricedRequests > 0 ? '*' : ''}`,
  ]);
  rows.push(headers.map(() => ''));
  rows.push([
    'TOTAL',
    ...(byUser ? [''] : []),
    compact(tools.reduce((a, t) => a + t.calls, 0)),
    ...['', '', '', '', '', '', ''],
    formatUsdHuman(total),
  ]);
  const out = [
    renderTable(
      headers,
      rows,
      headers.map((_, i) => i >= keyHeaders.length),
    ),
  ];
  const decided = tools.filter((t) => t.accepts + t.rejects > 0);
  if (decided.length > 0) {
    const srcHeaders = [...keyHeaders, 'SOURCE', 'ACCEPTED', 'REJECTED'];
    out.push(
      '',
      'Permission decisions by source:',
      renderTable(
        srcHeaders,
        decided.flatMap((t) =>
          orderedSources(t).map((s) => [
            t.tool,
            ...who(t),
            s,
            compact(t.bySource[s]?.accept ?? 0),
            compact(t.bySource[s]?.reject ?? 0),
          ]),
        ),
        srcHeaders.map((_, i) => i > keyHeaders.length),
      ),
    );
  }
  out.push(
    '',
    "COST: each prompt's API requests split evenly over its tool calls (whole pico-USD, remainders to the",
    'earliest calls); (no tool): prompts without tool calls.',
  );
  if (tools.some((t) => t.unpricedRequests > 0))
    out.push('* includes requests of models without a catalog price (cost not in the total).');
  print(ctx, out.join('\n'));
  return EXIT.ok;
}
