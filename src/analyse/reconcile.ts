/**
 * Reconciliation, explained: each (account, Region, model, scope, tier) of a billing period with billed and
 * estimated dollars, the variance, and its likely cause; and the month's findings a FinOps reader acts on —
 * negotiated discounts, credits, tax, Regions without invocation logging, hours of missing logs, batch usage with no
 * logs by design, prices that differ from the catalog, usage types nobody can read.
 */
import { AppError, formatUsd, type Picos } from '../core/index.ts';
import {
  type MetricsStore,
  periodBounds,
  type ReconcileData,
  type ReconcileGroup,
  type Store,
} from '../store/index.ts';

/** What CloudWatch says about the same period (absent when no metrics were ingested). */
export type Coverage = Awaited<ReturnType<MetricsStore['coverage']>>;

export type FindingKind =
  | 'discount'
  | 'credit'
  | 'tax'
  | 'no_logging'
  | 'missing_logs'
  | 'batch'
  | 'price'
  | 'not_billed'
  | 'log_delivery'
  | 'cache_ttl'
  | 'unpriced'
  | 'unreadable';

export interface Finding {
  readonly kind: FindingKind;
  readonly message: string;
  readonly amount: Picos | null;
}

export interface ReconcileRow extends ReconcileGroup {
  /** billed usage + discounts − estimated. */
  readonly variance: Picos;
  readonly cause: string;
}

export interface Reconciliation {
  readonly data: ReconcileData;
  readonly rows: readonly ReconcileRow[];
  readonly findings: readonly Finding[];
}

const HOUR = 3_600_000;
const usd = (p: Picos) => `$${formatUsd(p < 0n ? -p : p)}`;
const signed = (p: Picos) => `${p < 0n ? '−' : ''}${usd(p)}`;
/** `part / whole` as a percentage with two decimals, exactly rounded half up. */
function percent(part: Picos, whole: Picos): string {
  if (whole === 0n) return '0.00';
  const bp = (part * 20000n + whole) / (2n * whole); // hundredths of a percent, rounded half up
  return `${bp / 100n}.${(bp % 100n).toString().padStart(2, '0')}`;
}

/** Billed 1-hour cache writes the ledger priced as 5-minute ones (logs without bodies carry no TTL split). */
const hiddenOneHour = (g: ReconcileGroup) =>
  g.ttlUnknown > 0 && g.billed1hTokens > g.logged1hTokens;

function causeOf(
  g: ReconcileGroup,
  loggedPlaces: ReadonlySet<string>,
  discountNote: string,
): string {
  if (g.records === 0) {
    if (g.tier === 'batch') return 'batch usage: batch jobs write no invocation logs';
    if (!loggedPlaces.has(`${g.account}|${g.region}`))
      return `no invocation logs from ${g.account} in ${g.region}: logging off there?`;
    return 'billed but never logged: a logging gap, or calls from outside the logged accounts';
  }
  if (g.billedUsage === 0n && g.discount === 0n)
    return 'logged but not billed yet (the bill lags about a day)';
  const causes: string[] = [];
  if (g.daysBilledNotLogged > 0 || g.shortDays.length > 0) {
    const days =
      g.shortDays.length > 0
        ? ` (${g.shortDays.slice(0, 3).join(', ')}${g.shortDays.length > 3 ? ', …' : ''})`
        : '';
    causes.push(`missing logs${days}: billed tokens exceed logged tokens`);
  }
  if (g.daysLoggedNotBilled > 0)
    causes.push(`${g.daysLoggedNotBilled} logged day(s) not billed yet`);
  const tokensMatch = g.billedTokens !== null && g.billedTokens === g.loggedTokens;
  // The same tests as the findings: unpriced records and hidden 1-hour writes explain a difference first.
  if (tokensMatch && g.unpriced > 0)
    causes.push(
      `${g.unpriced === g.records ? 'no' : `${g.unpriced} of ${g.records} records have no`} catalog price: the ledger estimates nothing for them`,
    );
  else if (tokensMatch && hiddenOneHour(g))
    causes.push(
      `${(g.billed1hTokens - g.logged1hTokens).toLocaleString('en')} cache-write tokens billed as 1-hour writes, estimated at the 5-minute rate (records without a response body carry no TTL split)`,
    );
  else if (tokensMatch && g.billedUsage !== g.estimated)
    causes.push(
      `billed ${signed(g.billedUsage)} at list vs estimate ${usd(g.estimated)} for the same tokens: the catalog price differs (stale price or private pricing)`,
    );
  if (g.discount !== 0n) causes.push(discountNote);
  return causes.length > 0 ? causes.join('; ') : 'matches';
}

/** Consecutive hours as ranges, per account and Region, with what each range adds up (tokens, failures). */
function hourRanges(
  hours: readonly { account: string; region: string; hour: number; n?: bigint }[],
) {
  const order = (x: { account: string; region: string; hour: number }) =>
    `${x.account}|${x.region}`;
  const sorted = [...hours].sort((a, b) =>
    order(a) === order(b) ? a.hour - b.hour : order(a) < order(b) ? -1 : 1,
  );
  const out: { account: string; region: string; from: number; to: number; n: bigint }[] = [];
  for (const h of sorted) {
    const last = out.at(-1);
    if (last && last.account === h.account && last.region === h.region && last.to >= h.hour) {
      last.to = Math.max(last.to, h.hour + HOUR);
      last.n += h.n ?? 0n;
    } else {
      out.push({
        account: h.account,
        region: h.region,
        from: h.hour,
        to: h.hour + HOUR,
        n: h.n ?? 0n,
      });
    }
  }
  return out;
}

/** `2026-11-12 03:00–06:00 UTC`. */
function span(r: { from: number; to: number }): string {
  const from = new Date(r.from).toISOString();
  const to = new Date(r.to).toISOString();
  const sameDay = to.slice(0, 10) === from.slice(0, 10);
  return `${from.slice(0, 10)} ${from.slice(11, 16)}–${sameDay ? '' : `${to.slice(0, 10)} `}${to.slice(11, 16)} UTC`;
}

export function explainReconciliation(data: ReconcileData, coverage?: Coverage): Reconciliation {
  const findings: Finding[] = [];
  const { totals } = data;
  const discountPct = percent(-totals.discount, totals.usage);
  if (totals.discount !== 0n) {
    findings.push({
      kind: 'discount',
      amount: totals.discount,
      message: `negotiated discount: ${signed(totals.discount)} on usage of ${usd(totals.usage)} (${discountPct} %), billed as discount line items`,
    });
  }
  for (const o of data.other) {
    const day = new Date(o.firstDay).toISOString().slice(0, 10);
    if (o.lineItemType === 'Credit' || o.lineItemType === 'Refund') {
      findings.push({
        kind: 'credit',
        amount: o.amount,
        message: `${o.lineItemType.toLowerCase()} ${signed(o.amount)} from ${day}${o.description ? ` (${o.description})` : ''}: not allocated to usage`,
      });
    } else if (o.lineItemType === 'Tax') {
      findings.push({
        kind: 'tax',
        amount: o.amount,
        message: `tax ${signed(o.amount)}: not allocated to usage`,
      });
    } else if (o.classification === 'unknown' || o.reason !== '') {
      findings.push({
        kind: 'unreadable',
        amount: o.amount,
        message: `${o.lines} ${o.lineItemType} line(s) of ${o.usageType || '(no usage type)'}: ${o.reason || 'not a token usage line'} (${signed(o.amount)}, reported as billed-only)`,
      });
    }
  }
  const loggedPlaces = new Set(
    data.groups.filter((g) => g.records > 0).map((g) => `${g.account}|${g.region}`),
  );
  const unlogged = new Map<string, Picos>();
  for (const g of data.groups) {
    const place = `${g.account}|${g.region}`;
    if (g.records === 0 && g.tier !== 'batch' && !loggedPlaces.has(place))
      unlogged.set(place, (unlogged.get(place) ?? 0n) + g.billedUsage + g.discount);
  }
  for (const [place, amount] of unlogged) {
    const [account, region] = place.split('|');
    findings.push({
      kind: 'no_logging',
      amount,
      message: `no invocation logs from account ${account} in ${region}: ${usd(amount)} billed, nothing logged — turn on model invocation logging there`,
    });
  }
  const batch = data.groups.filter((g) => g.records === 0 && g.tier === 'batch');
  if (batch.length > 0) {
    const amount = batch.reduce((a, g) => a + g.billedUsage + g.discount, 0n);
    findings.push({
      kind: 'batch',
      amount,
      message: `batch inference ${usd(amount)} (${batch.map((g) => g.model).join(', ')}): batch jobs write no invocation logs; billed-only`,
    });
  }
  if (coverage?.covered) {
    // CloudWatch counted the tokens hour by hour: the hours it saw more than the ledger holds are logging gaps.
    // A place with no logs at all is one finding (no_logging), not one per hour.
    const gaps = coverage.gaps
      .filter((g) => !unlogged.has(`${g.account}|${g.region}`))
      .map((g) => ({ ...g, n: g.metricTokens - g.loggedTokens }));
    for (const r of hourRanges(gaps)) {
      findings.push({
        kind: 'missing_logs',
        amount: null,
        message: `missing logs: account ${r.account}, ${r.region}, ${span(r)}: CloudWatch counted ${r.n.toLocaleString('en')} tokens the ledger does not have`,
      });
    }
  } else {
    const shortPlaces = new Set(
      data.groups
        .filter((g) => g.records > 0 && g.shortDays.length > 0)
        .map((g) => `${g.account}|${g.region}`),
    );
    for (const r of hourRanges(data.quietHours)) {
      if (!shortPlaces.has(`${r.account}|${r.region}`)) continue;
      findings.push({
        kind: 'missing_logs',
        amount: null,
        message: `missing logs: account ${r.account}, ${r.region}, ${span(r)} — no records in hours that are billed (ingest CloudWatch metrics to confirm)`,
      });
    }
  }
  const failures = hourRanges(
    (coverage?.deliveryFailures ?? []).map((f) => ({ ...f, n: BigInt(f.failures) })),
  );
  for (const r of failures) {
    findings.push({
      kind: 'log_delivery',
      amount: null,
      message: `CloudWatch reports ${r.n} failed invocation-log deliveries for account ${r.account || '?'} in ${r.region}, ${span(r)}: the ledger has a gap there`,
    });
  }
  const hidden = data.groups.filter(hiddenOneHour);
  if (hidden.length > 0) {
    const tokens = hidden.reduce((a, g) => a + g.billed1hTokens - g.logged1hTokens, 0n);
    findings.push({
      kind: 'cache_ttl',
      amount: null,
      message: `${tokens.toLocaleString('en')} cache-write tokens are billed as 1-hour writes that the logs did not split out (records without a response body; flagged cache_ttl_unknown and estimated at the 5-minute rate) in ${hidden.length} model group(s): enable full logging of response bodies, or read the allocated billed dollars`,
    });
  }
  for (const g of data.groups.filter(
    (x) => x.records > 0 && x.unpriced === x.records && x.billedUsage > 0n,
  )) {
    findings.push({
      kind: 'unpriced',
      amount: g.billedUsage,
      message: `${g.model} in ${g.region} has no catalog price, so the ledger estimates nothing; the bill charges ${usd(g.billedUsage)} — add a price (tokenledger prices missing), or use --cost billed`,
    });
  }
  const priced = data.groups.filter(
    (g) =>
      g.records > 0 &&
      g.unpriced < g.records &&
      !hiddenOneHour(g) &&
      g.billedTokens !== null &&
      g.billedTokens === g.loggedTokens &&
      g.billedUsage !== g.estimated &&
      g.estimated > 0n,
  );
  for (const g of priced) {
    findings.push({
      kind: 'price',
      amount: g.billedUsage - g.estimated,
      message: `${g.model} (${g.tier}, ${g.scope}) in ${g.region}: the same tokens bill at ${usd(g.billedUsage)} list vs ${usd(g.estimated)} estimated — check the catalog entry (stale price?)`,
    });
  }
  const discountNote = `negotiated discount ${discountPct} %`;
  const rows = data.groups.map((g) => ({
    ...g,
    variance: g.billedUsage + g.discount - g.estimated,
    cause: causeOf(g, loggedPlaces, discountNote),
  }));
  return { data, rows, findings };
}

export async function runReconciliation(
  store: Store,
  month: string | undefined,
  options: { readonly allocate: boolean },
): Promise<Reconciliation> {
  if (month !== undefined && periodBounds(month) === null)
    throw new AppError('analyse.bad_month', `--month ${month}: expected YYYY-MM, e.g. 2026-10`);
  const periods = await store.reconciler.periods();
  const period = month ?? periods.at(-1);
  if (period === undefined) {
    throw new AppError(
      'analyse.no_bill',
      'the ledger has no bill yet: run `tokenledger ingest-cur PATH` first',
    );
  }
  const bounds = periodBounds(period);
  if (bounds === null) throw new Error(`a billing period that is not a month: ${period}`);
  if (!periods.includes(period))
    throw new AppError(
      'analyse.no_bill',
      `no bill for ${period} in the ledger (bills for: ${periods.join(', ')}); run \`tokenledger ingest-cur PATH\` with that month's export`,
    );
  const data = await store.reconciler.reconcile(period, options);
  const coverage = await store.metrics.coverage(bounds.fromMs, bounds.toMs);
  return explainReconciliation(data, coverage);
}
