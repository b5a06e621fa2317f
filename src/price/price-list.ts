/**
 * Reads the AWS Price List for Amazon Bedrock and proposes catalog entries for a person to review. Pure: text in,
 * rows and proposals out; no I/O, no clock, no floats (prices stay decimal strings, comparisons are bigint pico-USD).
 *
 * This file is the import's public face: its types, the review text, and re-exports of the steps, which live in
 * price-list-parse.ts (documents → rows; usage types in price-list-usage-type.ts) and price-list-propose.ts (rows
 * + catalog → proposals; rate arithmetic in price-list-rates.ts, entries in price-list-entry.ts). Usage-type
 * grammars, scopes and tiers follow shared/formats/bedrock.md §2.4-2.5 and §4.3-4.6; entry rules (append-only,
 * base = global rate with `regionalPremium`) follow catalog/README.md.
 */
import type { Scope, Tier } from '../core/index.ts';
import type { PriceEntry } from './catalog-schema.ts';
import { ENTRY_RATE_ORDER } from './price-list-rates.ts';
import type { TokenClass } from './price-record.ts';

export type { Outcome } from './price-list-outcome.ts';
export { parsePriceList } from './price-list-parse.ts';
export { BILLING_MODEL_MAP, proposeEntries } from './price-list-propose.ts';
/** The usage-type grammar is shared with the bill (CUR usage types are the Price List's). */
export { parseUsageType, regionOf, type Usage } from './price-list-usage-type.ts';

/** One SKU × price dimension of the Price List, normalised. */
export interface PriceListRow {
  readonly sku: string;
  readonly serviceCode: string;
  readonly usageType: string;
  /** From `attributes.regionCode`, else from the usage-type prefix table, else null. */
  readonly regionCode: string | null;
  /** The model as the bill names it: `NovaMicro`, `Claude4.6Sonnet`, `openai.gpt-oss-20b`, `Claude Haiku 4.5`. */
  readonly billingModel: string;
  readonly tokenClass: TokenClass | null;
  readonly tier: Tier;
  readonly scope: Scope;
  readonly longContext: boolean;
  /** USD per 1M tokens, exact, trailing zeros stripped ("0.035", "3", "0"). */
  readonly usdPerMillion: string;
  /** The OnDemand term's effectiveDate, YYYY-MM-DD. */
  readonly effectiveDate: string;
  /** `<file>#<sku>`, so a person can find the row. */
  readonly source: string;
}

export interface SkippedRow {
  readonly sku: string;
  readonly usageType: string;
  readonly reason: string;
  readonly source: string;
}

export interface Proposal {
  readonly kind: 'new-model' | 'price-change' | 'new-region' | 'new-tier';
  /** A complete, schema-valid entry to append: new id, effectiveFrom = the Price List's effective date. */
  readonly entry: PriceEntry;
  /** Id of the catalog entry in force for this model, Region and tier that the entry would supersede. */
  readonly replaces: string | null;
  /** Stored (base-scope) rates that differ from the superseded entry; `from` is null for a rate it lacks. */
  readonly changes: readonly { field: string; from: string | null; to: string }[];
}

export interface ImportResult {
  readonly proposals: Proposal[];
  /** Groups (model, Region, tier, scope, long context, date) the catalog already prices identically. */
  readonly unchanged: number;
  /** Billing names with no known catalog model id: listed for a person, never guessed. */
  readonly unmapped: { billingModel: string; usageTypes: string[] }[];
  /** Rows `proposeEntries` could not use. Rows `parsePriceList` skipped are in its own result: show both. */
  readonly skipped: SkippedRow[];
}

/** A human-readable review of an import: one block per proposal, then unchanged, unmapped and skipped rows. */
export function formatProposals(result: ImportResult): string {
  const lines: string[] = [
    `AWS Price List import: ${result.proposals.length} proposals, ${result.unchanged} unchanged, ${result.unmapped.length} unmapped, ${result.skipped.length} skipped`,
  ];
  for (const p of result.proposals) {
    const e = p.entry;
    const changes = p.changes
      .map((c) => (c.from === null ? `${c.field} ${c.to}` : `${c.field} ${c.from} → ${c.to}`))
      .join(', ');
    const rates = ENTRY_RATE_ORDER.flatMap((cls) => {
      const v = e.usdPerMillionTokens[cls];
      return v === undefined ? [] : [`${cls} ${v}`];
    }).join(' · ');
    const premium = e.regionalPremium
      ? ` (global base; regionalPremium ${e.regionalPremium} for geo and in-Region)`
      : '';
    lines.push(
      '',
      `${p.kind === 'price-change' ? '~' : '+'} ${e.models.join(',')} ${e.regions.join(',')} ${e.tier}: ${changes}`,
      `    ${p.kind}: new entry ${e.id} from ${e.effectiveFrom}${p.replaces ? `, supersedes ${p.replaces}` : ''}`,
      `    rates per 1M tokens${premium}: ${rates}`,
      `    notes: ${e.notes ?? ''}`,
    );
  }
  lines.push('', `= ${result.unchanged} groups already priced identically by the catalog`);
  if (result.unmapped.length > 0) {
    lines.push(
      '',
      'unmapped billing names (no catalog model id; add to BILLING_MODEL_MAP once checked):',
    );
    for (const u of result.unmapped)
      lines.push(`  ? ${u.billingModel}: ${u.usageTypes.join(', ')}`);
  }
  if (result.skipped.length > 0) {
    lines.push('', 'skipped rows:');
    for (const s of result.skipped)
      lines.push(`  - ${s.usageType || '(no usage type)'} [${s.source}]: ${s.reason}`);
  }
  return `${lines.join('\n')}\n`;
}
