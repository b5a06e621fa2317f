/**
 * A snapshot of every budget and limit counter for the admin endpoint and CLI: plain JSON (amounts as decimal USD
 * strings, instants as ISO strings), read from the counter store without changing it.
 */
import { formatUsd } from '../../core/index.ts';
import type { CounterLevel, CounterStore, CounterWindow } from './counter-store.ts';
import { type BudgetRule, LIMIT_WINDOW, type LimitRule, labelOf, scopeOf } from './rules.ts';

/** One budget counter (one per distinct value for `*` scopes; those appear once the value has been seen). */
export interface BudgetStatus {
  readonly budget: string;
  /** The name plus the per-value part: `team-monthly{team=search}`. */
  readonly label: string;
  readonly scope: Record<string, string>;
  readonly period: 'daily' | 'weekly' | 'monthly';
  readonly window: 'calendar' | 'rolling';
  readonly timezone: string | null;
  readonly enforce: 'block' | 'warn';
  readonly limitUsd: string;
  readonly softUsd: string | null;
  readonly spentUsd: string;
  /** Held by calls in flight. */
  readonly reservedUsd: string;
  /** limit − spent − reserved; negative only after an underestimate (see the overshoot bound). */
  readonly remainingUsd: string;
  /** Start of the current period, or of the span a rolling window counts. */
  readonly periodStart: string;
  /** When a calendar period resets; null for rolling windows. */
  readonly resetsAt: string | null;
}

/** One RPM or TPM counter over the last minute. */
export interface LimitStatus {
  readonly limit: string;
  readonly label: string;
  readonly scope: Record<string, string>;
  readonly kind: 'rpm' | 'tpm';
  readonly max: number;
  readonly used: number;
  readonly reserved: number;
  readonly remaining: number;
}

/** The whole snapshot. */
export interface GovernorStatus {
  readonly at: string;
  readonly budgets: readonly BudgetStatus[];
  readonly limits: readonly LimitStatus[];
  /** Admitted calls not yet settled or released; a count that only grows means a leak. */
  readonly openTickets: number;
  readonly oldestTicketAgeMs: number | null;
  /** Reservations released because their call neither settled nor released within `expireAfterMs` (since start). */
  readonly expiredTickets: number;
  /** Expired tickets whose call finished after all (charged then): calls that outlive `expireAfterMs`. */
  readonly lateSettlements: number;
  readonly expireAfterMs: number;
}

const iso = (t: number): string => new Date(t).toISOString();

/** Counter keys of a rule: the shared one, or every per-value one the store holds. */
async function keysOf(
  store: CounterStore,
  rule: { prefix: string; scope: { perValue: readonly unknown[] } },
) {
  return rule.scope.perValue.length === 0 ? [rule.prefix] : store.keys(`${rule.prefix}|`);
}

function windowStart(window: CounterWindow, at: number): number {
  if (window.kind === 'period') return window.start;
  return (Math.floor(at / window.bucketMs) - window.buckets + 1) * window.bucketMs;
}

/** Reads every counter of every rule at `at`. */
export async function statusOf(
  store: CounterStore,
  budgets: readonly BudgetRule[],
  limits: readonly LimitRule[],
  at: number,
  tickets: Pick<
    GovernorStatus,
    'openTickets' | 'oldestTicketAgeMs' | 'expiredTickets' | 'lateSettlements' | 'expireAfterMs'
  >,
): Promise<GovernorStatus> {
  const budgetRows: BudgetStatus[] = [];
  for (const rule of budgets) {
    const window = rule.windowAt(at);
    const keys = (await keysOf(store, rule)).sort();
    const levels = await store.read(
      keys.map((key) => ({ key, window })),
      at,
    );
    keys.forEach((key, i) => {
      const level = levels[i] as CounterLevel;
      const c = rule.config;
      budgetRows.push({
        budget: rule.name,
        label: labelOf(rule, key),
        scope: scopeOf(rule, key),
        period: c.period,
        window: c.window,
        timezone: c.window === 'calendar' ? c.timezone : null,
        enforce: rule.block ? 'block' : 'warn',
        limitUsd: formatUsd(rule.limit),
        softUsd: rule.soft === null ? null : formatUsd(rule.soft),
        spentUsd: formatUsd(level.spent),
        reservedUsd: formatUsd(level.reserved),
        remainingUsd: formatUsd(rule.limit - level.spent - level.reserved),
        periodStart: iso(windowStart(window, at)),
        resetsAt: window.kind === 'period' ? iso(window.end) : null,
      });
    });
  }
  const limitRows: LimitStatus[] = [];
  for (const rule of limits) {
    const keys = (await keysOf(store, rule)).sort();
    const levels = await store.read(
      keys.map((key) => ({ key, window: LIMIT_WINDOW })),
      at,
    );
    keys.forEach((key, i) => {
      const level = levels[i] as CounterLevel;
      limitRows.push({
        limit: rule.name,
        label: labelOf(rule, key),
        scope: scopeOf(rule, key),
        kind: rule.kind,
        max: Number(rule.max),
        used: Number(level.spent),
        reserved: Number(level.reserved),
        remaining: Number(rule.max - level.spent - level.reserved),
      });
    });
  }
  return { at: iso(at), budgets: budgetRows, limits: limitRows, ...tickets };
}
