/**
 * `prices check`: what the schema cannot see. Loading already refuses malformed files, duplicate ids and rates
 * that cannot be exact; these are the consistency rules of bedrock.md §4–5 a reviewer would otherwise check by
 * hand, reported as findings (errors fail the check, warnings are for a person to look at).
 */
import type { Catalog, RateSet, ResolvedEntry } from './catalog.ts';

export interface Finding {
  readonly level: 'error' | 'warning';
  readonly entry: string;
  readonly message: string;
}

const ratio = (a: bigint | null, b: bigint): string | null =>
  a === null || b === 0n ? null : (Number((a * 1000n) / b) / 1000).toString();

/** Anthropic's cache multipliers on Bedrock (bedrock.md §4.5): read 0.1×, write 5m 1.25×, write 1h 2× input. */
function anthropicCache(e: ResolvedEntry, r: RateSet): string[] {
  const out: string[] = [];
  const want: [keyof RateSet, bigint, bigint, string][] = [
    ['cacheRead', 1n, 10n, '0.1'],
    ['cacheWrite5m', 5n, 4n, '1.25'],
    ['cacheWrite1h', 2n, 1n, '2'],
  ];
  for (const [k, num, den, label] of want) {
    const v = r[k];
    if (v !== null && v * den !== r.input * num)
      out.push(
        `${k} is ${ratio(v, r.input)}× input, Anthropic's rule is ${label}× (${e.entry.id})`,
      );
  }
  return out;
}

export function checkCatalog(
  catalog: Catalog,
  knownModels: ReadonlySet<string> = new Set(),
): Finding[] {
  const findings: Finding[] = [];
  const add = (level: Finding['level'], entry: string, message: string) =>
    findings.push({ level, entry, message });
  const models = new Set<string>([...knownModels]);
  for (const r of catalog.entries) for (const m of r.entry.models) models.add(m);

  for (const r of catalog.entries) {
    const e = r.entry;
    if (!r.override && !/^https?:\/\//.test(e.source))
      add(
        'error',
        e.id,
        `source must be a URL in the shipped catalog, got ${JSON.stringify(e.source)}`,
      );
    if (e.verifiedOn < e.effectiveFrom && !r.override)
      add(
        'warning',
        e.id,
        `verifiedOn ${e.verifiedOn} is before effectiveFrom ${e.effectiveFrom}: a price nobody has seen in force`,
      );
    if (e.kind === 'embedding' && e.usdPerMillionTokens.output !== undefined)
      add(
        'error',
        e.id,
        'an embedding entry has an output rate (embeddings are billed on input only)',
      );
    if (e.kind === 'text' && e.usdPerMillionTokens.output === undefined)
      add(
        'warning',
        e.id,
        'a text entry without an output rate: output tokens would be charged at the input rate',
      );
    if (e.models.some((m) => m.startsWith('anthropic.')) && e.tier === 'standard')
      for (const m of anthropicCache(r, r.base)) add('warning', e.id, m);
    if (e.longContext && !e.models.some((m) => /claude-sonnet-4(-5)?(-\d{8})?-v1:0$/.test(m)))
      add(
        'warning',
        e.id,
        'long-context tier on a model other than Sonnet 4 / 4.5 (bedrock.md §4.6)',
      );
    if (e.tier === 'batch') {
      const std = catalog.find(
        e.models[0] ?? '',
        e.regions[0] === '*' ? '' : (e.regions[0] ?? ''),
        'standard',
        r.effectiveFromMs,
      );
      if (std && !std.early) {
        const s = std.resolved.base;
        if (
          s.input !== r.base.input * 2n ||
          (s.output !== null && r.base.output !== null && s.output !== r.base.output * 2n)
        )
          add('warning', e.id, `batch is not 50 % of ${std.resolved.entry.id}`);
      }
    }
  }
  for (const d of catalog.discounts) {
    const m = d.match;
    if (m.model !== undefined && !models.has(m.model))
      add(
        'warning',
        d.id,
        `discount matches model ${m.model}, which no catalog or override entry prices (use the canonical id, e.g. anthropic.claude-sonnet-4-6)`,
      );
    if (m.provider !== undefined && ![...models].some((x) => x.startsWith(`${m.provider}.`)))
      add('warning', d.id, `discount matches provider ${m.provider}, which no entry has`);
  }
  return findings;
}
