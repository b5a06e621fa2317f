/** `tokenledger prices list|show|check|missing|import`: the catalog a FinOps reviewer reads, checks and updates. */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseTime, shortModel } from '../../analyse/index.ts';
import { loadConfig } from '../../config/index.ts';
import { AppError, formatUsd, type Picos, type Scope } from '../../core/index.ts';
import { createNormaliser, isUnresolved } from '../../normalise/index.ts';
import {
  type Catalog,
  checkCatalog,
  formatProposals,
  parsePriceList,
  proposeEntries,
  type RateSet,
  type ResolvedEntry,
} from '../../price/index.ts';
import { loadPricing } from '../../runtime.ts';
import { type Flags, parse, str } from '../args.ts';
import { type CliContext, configPath, EXIT, print, withRuntime } from '../context.ts';
import { compact, renderTable } from '../format.ts';

export const PRICES_HELP = `Usage: tokenledger prices <list|show|check|missing|import> [options] [--config FILE]

  list [--model TEXT] [--tier TIER] [--at DATE] [--all] [--format table|json]
        catalog entries in force (at DATE, default today), with your overrides; --all adds superseded ones
  show MODEL      every entry for one model (any id form: global./us. profile, ARN, bare id), with the
                  rates each scope pays and the discounts that apply
  check           validate the catalog and prices.overrides; consistency warnings (exit 1 on an error)
  missing [--since 30d] [--db FILE]
                  models in the ledger without a price: tokens kept, cost not counted until an entry exists
  import FILE… [--out FILE] [--today DATE]
                  read AWS Price List files for Bedrock (bulk offer JSON or GetProducts output) and propose
                  catalog entries: a diff to review; --out writes the proposed entries as a catalog file

Rates are USD per 1M tokens. Prices change by adding entries (catalog/README.md), then \`tokenledger reprice\`.`;

const perMillion = (p: Picos | null): string => (p === null ? '-' : formatUsd(p * 1_000_000n));

/** The catalog and normaliser without opening the ledger (list, show, check and import need no database). */
function pricing(ctx: CliContext, flags: Flags, withOverrides = true) {
  const path = configPath(ctx, flags);
  const config = loadConfig(path, ctx.env);
  const profiles = new Map(Object.entries(config.inferenceProfiles));
  return {
    config,
    catalog: loadPricing(config, path, { withOverrides }),
    normaliser: createNormaliser((arn) => profiles.get(arn)),
  };
}

export async function pricesCommand(ctx: CliContext): Promise<number> {
  const [sub, ...rest] = ctx.argv;
  const sctx = { ...ctx, argv: rest };
  switch (sub) {
    case 'list':
      return listCommand(sctx);
    case 'show':
      return showCommand(sctx);
    case 'check':
      return checkCommand(sctx);
    case 'missing':
      return missingCommand(sctx);
    case 'import':
      return importCommand(sctx);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      print(ctx, PRICES_HELP);
      return sub === undefined ? EXIT.usage : EXIT.ok;
    default:
      throw new AppError('cli.usage', `unknown prices command "${sub}"\n\n${PRICES_HELP}`);
  }
}

function helpOrPositionals(
  ctx: CliContext,
  flags: Flags,
  positionals: string[],
  max: number,
): boolean {
  if (flags.help) {
    print(ctx, PRICES_HELP);
    return true;
  }
  if (positionals.length > max)
    throw new AppError('cli.usage', `unexpected argument ${positionals[max]}\n\n${PRICES_HELP}`);
  return false;
}

const dayMs = (text: string, flag: string): number => {
  const ms = Date.parse(`${text}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(ms))
    throw new AppError('cli.usage', `${flag} expects a date YYYY-MM-DD, got ${text}`);
  return ms;
};

/** Entries in force at `atMs` for some model, Region and tier (or all of them with `all`). */
function entriesInForce(catalog: Catalog, atMs: number, all: boolean): ResolvedEntry[] {
  if (all) return [...catalog.entries];
  const inForce = new Set<ResolvedEntry>();
  for (const r of catalog.entries) {
    for (const model of r.entry.models) {
      for (const region of r.entry.regions) {
        const found = catalog.find(model, region === '*' ? '\u0000' : region, r.entry.tier, atMs);
        if (found && !found.early) inForce.add(found.resolved);
      }
    }
  }
  return catalog.entries.filter((r) => inForce.has(r));
}

function entryRow(r: ResolvedEntry, rates: RateSet): string[] {
  const e = r.entry;
  return [
    e.models.map(shortModel).join(' '),
    e.regions.join(' '),
    e.tier,
    perMillion(rates.input),
    perMillion(rates.output),
    perMillion(rates.cacheRead),
    perMillion(rates.cacheWrite5m),
    perMillion(rates.cacheWrite1h),
    e.regionalPremium ? `+${Number(e.regionalPremium) * 100}%` : '',
    e.effectiveFrom,
    r.override ? 'override' : '',
  ];
}

const ENTRY_HEADERS = [
  'MODEL',
  'REGIONS',
  'TIER',
  'INPUT',
  'OUTPUT',
  'CACHE RD',
  'WRITE 5M',
  'WRITE 1H',
  'PREMIUM',
  'FROM',
  '',
];
/** renderTable without the last (override marker) column when no row uses it. */
function renderTableTrimmed(
  headers: readonly string[],
  rows: readonly string[][],
  right: readonly boolean[],
  width: number,
): string {
  const last = headers.length - 1;
  if (rows.some((r) => (r[last] ?? '') !== '')) return renderTable(headers, rows, right, width);
  return renderTable(
    headers.slice(0, last),
    rows.map((r) => r.slice(0, last)),
    right.slice(0, last),
    width,
  );
}

const ENTRY_RIGHT = [false, false, false, true, true, true, true, true, true, false, false];

function entryJson(r: ResolvedEntry) {
  return { ...r.entry, override: r.override };
}

async function listCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {
    model: { type: 'string' },
    tier: { type: 'string' },
    at: { type: 'string' },
    all: { type: 'boolean' },
    format: { type: 'string' },
  });
  if (helpOrPositionals(ctx, flags, positionals, 0)) return EXIT.ok;
  const format = str(flags, 'format') ?? 'table';
  if (format !== 'table' && format !== 'json')
    throw new AppError('cli.usage', '--format must be table or json');
  const at = str(flags, 'at');
  const atMs = at === undefined ? ctx.now() : dayMs(at, '--at');
  const { catalog } = pricing(ctx, flags);
  const model = str(flags, 'model');
  const tier = str(flags, 'tier');
  const entries = entriesInForce(catalog, atMs, flags.all === true).filter(
    (r) =>
      (model === undefined || r.entry.models.some((m) => m.includes(model))) &&
      (tier === undefined || r.entry.tier === tier),
  );
  if (format === 'json') {
    print(ctx, JSON.stringify({ catalogHash: catalog.hash, entries: entries.map(entryJson) }));
    return EXIT.ok;
  }
  const table = renderTableTrimmed(
    ENTRY_HEADERS,
    entries.map((r) => entryRow(r, r.base)),
    ENTRY_RIGHT,
    120,
  );
  print(
    ctx,
    `${table}\n\n${entries.length} entries${flags.all === true ? '' : ` in force on ${new Date(atMs).toISOString().slice(0, 10)}`}, catalog ${catalog.hash}. USD per 1M tokens at the base scope (global where a model has one); PREMIUM applies to geo and in-Region ids.`,
  );
  return EXIT.ok;
}

async function showCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {});
  if (helpOrPositionals(ctx, flags, positionals, 1)) return EXIT.ok;
  const id = positionals[0];
  if (id === undefined)
    throw new AppError('cli.usage', `prices show needs a MODEL\n\n${PRICES_HELP}`);
  const { catalog, normaliser } = pricing(ctx, flags);
  const ref = normaliser.modelRef(id);
  if (isUnresolved(ref))
    throw new AppError(
      'price.unknown_model',
      `${id}: an application inference profile not in inferenceProfiles of the configuration`,
    );
  const entries = catalog.entries
    .filter((r) => r.entry.models.includes(ref.base))
    .sort(
      (a, b) =>
        a.entry.tier.localeCompare(b.entry.tier) ||
        a.entry.regions.join().localeCompare(b.entry.regions.join()) ||
        a.effectiveFromMs - b.effectiveFromMs,
    );
  const out = [
    `${ref.base}  (read from ${id} as ${ref.form}, scope ${ref.scope}${ref.geo ? ` ${ref.geo}` : ''})`,
  ];
  if (entries.length === 0) {
    out.push(
      '',
      'No catalog entry: records of this model are stored unpriced (tokens kept, flagged `unpriced`).',
    );
    out.push(
      'Add an entry to catalog/bedrock or to your prices.overrides file, then run `tokenledger reprice`.',
    );
    print(ctx, out.join('\n'));
    return EXIT.ok;
  }
  const scopes: Scope[] = ['global', 'geo', 'in-region'];
  const rows: string[][] = [];
  for (const r of entries) {
    for (const scope of scopes) {
      if (scope !== 'global' && r.entry.regionalPremium === undefined && scope !== ref.scope)
        continue;
      const rates = catalog.rates(r, scope, false);
      rows.push([
        ...entryRow(r, rates).slice(1, 3),
        scope,
        ...entryRow(r, rates).slice(3, 8),
        r.entry.effectiveFrom,
        r.override ? 'override' : '',
      ]);
    }
  }
  out.push(
    '',
    renderTableTrimmed(
      [
        'REGIONS',
        'TIER',
        'SCOPE',
        'INPUT',
        'OUTPUT',
        'CACHE RD',
        'WRITE 5M',
        'WRITE 1H',
        'FROM',
        '',
      ],
      rows,
      [false, false, false, true, true, true, true, true, false, false],
      120,
    ),
  );
  const lc = entries.find((r) => r.entry.longContext)?.entry.longContext;
  if (lc)
    out.push(
      '',
      `Long context: above ${lc.thresholdTokens.toLocaleString('en')} total input tokens the whole request pays ×${lc.inputMultiplier} input and cache, ×${lc.outputMultiplier} output.`,
    );
  const discounts = catalog.discounts.filter(
    (d) =>
      (d.match.model === undefined || d.match.model === ref.base) &&
      (d.match.provider === undefined || ref.base.startsWith(`${d.match.provider}.`)),
  );
  for (const d of discounts)
    out.push(
      `Discount ${d.id}: ${d.percent} % off${d.match.account ? ` for account ${d.match.account}` : ''}${d.match.region ? ` in ${d.match.region}` : ''}${d.match.tier ? ` (${d.match.tier})` : ''} from ${d.effectiveFrom}${d.effectiveTo ? ` to ${d.effectiveTo}` : ''}.`,
    );
  out.push('', 'Sources:');
  for (const src of new Set(
    entries.map((r) => `  ${r.entry.id}: ${r.entry.source} (verified ${r.entry.verifiedOn})`),
  ))
    out.push(src);
  print(ctx, out.join('\n'));
  return EXIT.ok;
}

async function checkCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {});
  if (helpOrPositionals(ctx, flags, positionals, 0)) return EXIT.ok;
  // Loading validates the files (schema, duplicate ids and keys, exact rates); an AppError names the file and field.
  const { catalog, config, normaliser } = pricing(ctx, flags);
  const findings = checkCatalog(catalog);
  for (const [arn, profile] of Object.entries(config.inferenceProfiles)) {
    const base = normaliser.modelRef(profile.model).base;
    if (!catalog.entries.some((r) => r.entry.models.includes(base)))
      findings.push({
        level: 'warning',
        entry: arn,
        message: `its model ${base} has no catalog entry: its records will be unpriced`,
      });
  }
  const overrides = catalog.entries.filter((r) => r.override).length;
  const vendors = new Set(
    catalog.entries.flatMap((r) => r.entry.models.map((m) => m.split('.')[0])),
  );
  const out = [
    `catalog ${catalog.hash}: ${catalog.entries.length - overrides} entries over ${vendors.size} vendors; overrides: ${overrides} entries, ${catalog.discounts.length} discounts`,
  ];
  for (const f of findings) out.push(`  ${f.level}: ${f.entry}: ${f.message}`);
  const errors = findings.filter((f) => f.level === 'error').length;
  out.push(
    errors > 0
      ? `${errors} error(s), ${findings.length - errors} warning(s)`
      : `ok (${findings.length} warning(s))`,
  );
  print(ctx, out.join('\n'));
  return errors > 0 ? EXIT.error : EXIT.ok;
}

async function missingCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {
    since: { type: 'string' },
    format: { type: 'string' },
  });
  if (helpOrPositionals(ctx, flags, positionals, 0)) return EXIT.ok;
  const since = str(flags, 'since');
  const query = since === undefined ? {} : { since: parseTime(since, ctx.now(), '--since') };
  const { models, catalog } = await withRuntime(ctx, flags, async (rt) => ({
    models: await rt.store.unpricedModels({ where: [], ...query }),
    catalog: rt.catalog,
  }));
  if (str(flags, 'format') === 'json') {
    print(ctx, JSON.stringify(models.map((m) => ({ ...m, tokens: m.tokens.toString() }))));
    return EXIT.ok;
  }
  if (models.length === 0) {
    print(ctx, 'Every record in the ledger has a price.');
    return EXIT.ok;
  }
  const why = (model: string, modelId: string): string => {
    if (
      model.startsWith('arn:') ||
      (modelId.includes(':application-inference-profile/') && model === modelId)
    )
      return 'application inference profile not configured (inferenceProfiles)';
    if (catalog.entries.some((r) => r.entry.models.includes(model)))
      return 'no entry for this Region/tier/date';
    return 'model not in the catalog';
  };
  const rows = models.map((m) => [
    m.modelId,
    m.region,
    compact(m.requests),
    compact(m.tokens),
    why(m.model, m.modelId),
  ]);
  print(
    ctx,
    `${renderTable(['MODEL ID', 'REGION', 'REQUESTS', 'TOKENS', 'WHY'], rows, [false, false, true, true, false], 120)}\n\nThese records keep their tokens and are flagged \`unpriced\`; their cost is not in any total.\nAdd an entry (catalog/bedrock or your prices.overrides file, see \`prices show MODEL\`), then run \`tokenledger reprice\`.`,
  );
  return EXIT.ok;
}

async function importCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, {
    out: { type: 'string' },
    today: { type: 'string' },
  });
  if (flags.help) {
    print(ctx, PRICES_HELP);
    return EXIT.ok;
  }
  if (positionals.length === 0)
    throw new AppError('cli.usage', `prices import needs at least one FILE\n\n${PRICES_HELP}`);
  const today = str(flags, 'today') ?? new Date(ctx.now()).toISOString().slice(0, 10);
  dayMs(today, '--today');
  // Proposals are list prices: compared with the catalog, not with the organisation's private prices.
  const { catalog } = pricing(ctx, flags, false);
  const rows = [];
  const skipped = [];
  for (const file of positionals) {
    const path = resolve(ctx.cwd, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e: unknown) {
      throw new AppError('price.import_invalid', `cannot read ${file}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const parsed = parsePriceList(text, file);
    rows.push(...parsed.rows);
    skipped.push(...parsed.skipped);
  }
  const result = proposeEntries(rows, catalog, { today });
  const all = { ...result, skipped: [...skipped, ...result.skipped] };
  print(ctx, formatProposals(all));
  const out = str(flags, 'out');
  if (out !== undefined) {
    const target = resolve(ctx.cwd, out);
    writeFileSync(
      target,
      `${JSON.stringify(
        {
          $comment: `Proposed by \`tokenledger prices import ${positionals.join(' ')}\` on ${today}. Review each entry, then move it into catalog/bedrock/<vendor>.json (or your prices.overrides file).`,
          vendor: 'price-list-import',
          entries: all.proposals.map((p) => p.entry),
        },
        null,
        2,
      )}\n`,
    );
    print(ctx, `\nWrote ${all.proposals.length} proposed entries to ${out}.`);
  }
  return EXIT.ok;
}
