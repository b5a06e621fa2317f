/** `tokenledger explain REQUEST_ID`: how one record was normalised, attributed and priced. */
import {
  AppError,
  DIMENSIONS,
  type Flag,
  formatUsd,
  type Tier,
  type UsageRecord,
} from '../../core/index.ts';
import { type Catalog, quote, quoteLines, type TokenClass } from '../../price/index.ts';
import type { StoredRecord } from '../../store/index.ts';
import { parse } from '../args.ts';
import { type CliContext, EXIT, print, withRuntime } from '../context.ts';

/** Sources that are not files: what recorded the call. */
const RECORDED_BY: Readonly<Record<string, string>> = {
  gateway: 'the tokenledger gateway (recorded as it forwarded the call)',
};

const CLASS_LABEL: Readonly<Record<TokenClass, string>> = {
  input: 'input (uncached)',
  cacheRead: 'cache read',
  cacheWrite5m: 'cache write 5m',
  cacheWrite1h: 'cache write 1h',
  output: 'output',
};

const ASSUMPTIONS: Readonly<Partial<Record<Flag, string>>> = {
  tier_unknown:
    'service tier not in the log (no request body, or an InvokeModel call: its tier is a header): priced at the standard tier',
  cache_ttl_unknown:
    'cache writes without a 5m/1h split in the log: all priced at the 5-minute rate',
  unpriced:
    'no catalog entry for this model, Region and tier at this time: tokens kept, cost not counted',
  rate_missing:
    'the entry has no rate for a token class that was used: priced at the input rate (a 1-hour cache write at the 5-minute write rate when there is one)',
  long_context:
    'total input above the long-context threshold: the whole request at long-context rates',
  regional_premium: 'geo or in-Region endpoint: the regional premium over the global price applies',
  profile_unresolved: 'application inference profile not in the configuration: model unknown',
  price_before_effective:
    'the record is older than the first catalog price for this model: its earliest price was used',
  price_override: 'priced by an entry of your prices.overrides file, not the shipped catalog',
  discounted: 'your negotiated discounts (prices.overrides) were applied to the list cost',
};

/**
 * The `source` of a client-only ledger row: a call only the client's telemetry saw (the store's CLIENT_ONLY_SOURCE,
 * telemetry-match.ts; the store's index does not export it).
 */
const CLIENT_ONLY_SOURCE = 'telemetry';
/**
 * The request id of a client-only row read from a `gen_ai.client.token.usage` interval: `otel:` (telemetry-match.ts)
 * and the `metric:` event key of the OTLP sink's metric rows (pipeline/otlp-sink.ts).
 */
const METRIC_INTERVAL_PREFIX = 'otel:metric:';

const s = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const n = (v: unknown): number => Number(v ?? 0);

/** Rebuilds the priced part of a stored record, to re-run the pricing rule on it. */
function toUsageRecord(row: StoredRecord): UsageRecord {
  const flags = s(row.flags).split(',').filter(Boolean) as Flag[];
  return {
    requestId: s(row.request_id),
    occurredAt: (row.ts as Date).getTime(),
    accountId: s(row.account),
    region: s(row.region),
    inferenceRegion: row.inference_region === null ? null : s(row.inference_region),
    operation: s(row.operation),
    modelId: s(row.model_id),
    identityArn: row.identity_arn === null ? null : s(row.identity_arn),
    requestMetadata: row.metadata ? (JSON.parse(s(row.metadata)) as Record<string, string>) : {},
    tokens: {
      input: n(row.input_tokens),
      output: n(row.output_tokens),
      cacheRead: n(row.cache_read_tokens),
      cacheWrite5m: n(row.cache_write_5m_tokens),
      cacheWrite1h: n(row.cache_write_1h_tokens),
    },
    cacheTtlKnown: !flags.includes('cache_ttl_unknown'),
    tier: flags.includes('tier_unknown') ? null : (s(row.tier) as Tier),
    latencyMs: row.latency_ms === null ? null : n(row.latency_ms),
    firstByteMs: row.first_byte_ms === null ? null : n(row.first_byte_ms),
    errorCode: row.error_code === null ? null : s(row.error_code),
    source: { uri: s(row.source), line: n(row.source_line) },
    model: {
      raw: s(row.model_id),
      base: s(row.model),
      profile: row.profile === null ? null : s(row.profile),
      scope: s(row.scope) as UsageRecord['model']['scope'],
      geo: row.geo === null ? null : s(row.geo),
      form: s(row.model_form) as UsageRecord['model']['form'],
      profileTags: {},
    },
    flags: flags.filter((f) => f === 'cache_ttl_unknown' || f === 'profile_unresolved'),
  };
}

export function explainText(row: StoredRecord, catalog: Catalog): string {
  const rec = toUsageRecord(row);
  const q = quote(rec, catalog);
  const rules = JSON.parse(s(row.attribution) || '{}') as Record<string, string>;
  const storedFlags = s(row.flags).split(',').filter(Boolean) as Flag[];
  const out: string[] = [];
  const kv = (k: string, v: string) => out.push(`  ${k.padEnd(16)}${v}`);
  out.push(`Request ${rec.requestId}`);
  kv('time', new Date(rec.occurredAt).toISOString());
  kv('operation', rec.operation);
  kv('status', rec.errorCode ?? 'ok');
  kv('account', rec.accountId);
  kv(
    'region',
    rec.inferenceRegion && rec.inferenceRegion !== rec.region
      ? `${rec.region} (served in ${rec.inferenceRegion})`
      : rec.region,
  );
  kv('identity', rec.identityArn ?? '(none)');
  kv(
    'source',
    rec.source.uri === CLIENT_ONLY_SOURCE
      ? rec.requestId.startsWith(METRIC_INTERVAL_PREFIX)
        ? 'client-only telemetry: one interval of a gen_ai.client.token.usage stream, the calls it counted (no invocation log, gateway record or span covers them)'
        : 'client-only telemetry event (no invocation log or gateway record of this call)'
      : rec.source.line > 0
        ? `${rec.source.uri}:${rec.source.line}`
        : (RECORDED_BY[rec.source.uri] ??
          `${rec.source.uri} (read in bulk, without line numbers; search the file for the request id)`),
  );
  out.push('', 'Normalised');
  kv('model id', rec.modelId);
  kv('read as', rec.model.form);
  kv('profile', rec.model.profile ?? '(none: called the model directly)');
  kv('model', rec.model.base);
  kv('scope', `${rec.model.scope}${rec.model.geo ? ` (${rec.model.geo})` : ''}`);
  out.push('', 'Attributed (first matching rule wins)');
  for (const dim of DIMENSIONS) kv(dim, `${s(row[dim])}${rules[dim] ? `   ← ${rules[dim]}` : ''}`);
  if (row.metadata) kv('requestMetadata', s(row.metadata));
  out.push('', 'Priced');
  if (q.resolved === null) {
    kv(
      'entry',
      `none for ${rec.model.base} in ${rec.region}, tier ${q.tier}, at ${new Date(rec.occurredAt).toISOString().slice(0, 10)}`,
    );
  } else {
    const e = q.resolved.entry;
    kv('entry', `${e.id}${q.resolved.override ? ' (your prices.overrides)' : ''}`);
    kv('effective from', e.effectiveFrom);
    kv('source', `${e.source} (verified ${e.verifiedOn})`);
    kv('tier', `${q.tier}${rec.tier === null ? ' (assumed)' : ''}`);
    kv(
      'scope rule',
      e.regionalPremium && rec.model.scope !== 'global'
        ? `regional premium: global price × (1 + ${e.regionalPremium})`
        : 'base price',
    );
    if (q.longContext)
      kv(
        'long context',
        `over ${e.longContext?.thresholdTokens} input tokens: ×${e.longContext?.inputMultiplier} input, ×${e.longContext?.outputMultiplier} output`,
      );
    // Label, tokens, rate and cost in aligned columns (the label column fits the longest label).
    out.push(
      `  ${''.padEnd(18)}${'tokens'.padStart(12)}${'USD per 1M'.padStart(14)}${'cost USD'.padStart(16)}`,
    );
    for (const l of quoteLines(rec, q)) {
      if (l.tokens === 0) continue;
      out.push(
        `  ${CLASS_LABEL[l.tokenClass].padEnd(18)}${l.tokens.toLocaleString('en-US').padStart(12)}${formatUsd(l.rate * 1_000_000n).padStart(14)}${formatUsd(l.picos).padStart(16)}${l.rateMissing ? '  (no own rate)' : ''}`,
      );
    }
    if (q.discount !== null) {
      kv('list total', `${formatUsd(q.undiscounted ?? 0n)} USD`);
      for (const id of q.discount.ids) {
        const d = catalog.discounts.find((x) => x.id === id);
        kv('discount', `${d?.percent ?? '?'} % off (${id}${d?.source ? `, ${d.source}` : ''})`);
      }
      kv(
        'total',
        `${formatUsd(q.picos ?? 0n)} USD (after discounts, rounded half up to 10^-12 USD)`,
      );
    } else {
      kv('total', `${formatUsd(q.picos ?? 0n)} USD`);
    }
  }
  const stored = row.cost_pusd === null ? null : BigInt(row.cost_pusd as bigint);
  kv(
    'stored cost',
    `${stored === null ? 'unpriced' : `${formatUsd(stored)} USD`} (entry ${s(row.price_id) || '-'}, catalog ${s(row.catalog_hash)})`,
  );
  if (stored !== q.picos) {
    kv(
      'note',
      `the current catalog (${catalog.hash}) prices it at ${q.picos === null ? 'nothing' : formatUsd(q.picos)}; stored cost is from catalog ${s(row.catalog_hash)} (tokenledger reprice updates it)`,
    );
  }
  if (row.billed_pusd !== null && row.billed_pusd !== undefined) {
    kv(
      'billed',
      `${formatUsd(BigInt(row.billed_pusd as bigint))} USD: its share of the bill, allocated by tokenledger reconcile`,
    );
  }
  const flags = [...new Set([...storedFlags, ...q.flags])];
  if (flags.length > 0) {
    out.push('', 'Assumptions and flags');
    for (const f of flags) out.push(`  ${f}: ${ASSUMPTIONS[f] ?? ''}`);
  }
  return out.join('\n');
}

export async function explainCommand(ctx: CliContext): Promise<number> {
  const { flags, positionals } = parse(ctx.argv, { json: { type: 'boolean' } });
  if (flags.help || positionals.length !== 1) {
    print(ctx, 'Usage: tokenledger explain REQUEST_ID [--json] [--db FILE]');
    return flags.help ? EXIT.ok : EXIT.usage;
  }
  const id = positionals[0] as string;
  const text = await withRuntime(ctx, flags, async (rt) => {
    const row = await rt.store.getRecord(id);
    if (row === null)
      throw new AppError('cli.not_found', `no record with requestId ${id} in this ledger`);
    if (flags.json) {
      return JSON.stringify(row, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
    }
    return explainText(row, rt.catalog);
  });
  print(ctx, text);
  return EXIT.ok;
}
