/**
 * Budgets and rate limits compiled from configuration into rules: limits in counter units, windows as functions of
 * time, counter-key prefixes, and the labels people see in errors, headers and status.
 */
import { parseUsd } from '../../core/index.ts';
import type { GatewayBudget, GatewayConfig, GatewayScope } from '../config.ts';
import type { CounterWindow } from './counter-store.ts';
import { MINUTE_WINDOW, periodClock, rollingBudgetWindow } from './periods.ts';
import { type CompiledScope, compileScope, parseSuffix } from './policy.ts';

/** A budget ready for the hot path. */
export interface BudgetRule {
  readonly name: string;
  readonly config: GatewayBudget;
  /** Counter keys are `prefix + scope suffix`. */
  readonly prefix: string;
  readonly scope: CompiledScope;
  readonly scopeConfig: GatewayScope;
  readonly limit: bigint;
  readonly soft: bigint | null;
  /** False for `onHard: warn`: counted and reported, never refused. */
  readonly block: boolean;
  /** The counter window at an instant (calendar spans cached, so O(1)). */
  readonly windowAt: (now: number) => CounterWindow;
}

/** One RPM or TPM limit ready for the hot path. */
export interface LimitRule {
  readonly name: string;
  readonly kind: 'rpm' | 'tpm';
  readonly prefix: string;
  readonly scope: CompiledScope;
  readonly scopeConfig: GatewayScope;
  readonly max: bigint;
}

/** A rule a call matched, with the key of the counter it counts in. */
export interface Matched<R> {
  readonly rule: R;
  readonly key: string;
}

/** Compiles the budgets. The soft limit from a percentage is rounded down to a pico-USD. */
export function compileBudgets(config: GatewayConfig): BudgetRule[] {
  return config.budgets.map((b) => {
    const limit = parseUsd(b.amountUsd);
    const soft =
      b.softUsd !== undefined
        ? parseUsd(b.softUsd)
        : b.softPercent !== undefined
          ? (limit * BigInt(Math.round(b.softPercent * 100))) / 10_000n
          : null;
    let windowAt: (now: number) => CounterWindow;
    if (b.window === 'rolling') {
      const w = rollingBudgetWindow(b.period);
      windowAt = () => w;
    } else {
      const clock = periodClock(b.period, b.timezone);
      let last: CounterWindow = { kind: 'period', start: 0, end: 0 };
      windowAt = (now) => {
        const span = clock(now);
        if (last.kind !== 'period' || last.start !== span.start) {
          last = { kind: 'period', start: span.start, end: span.end };
        }
        return last;
      };
    }
    return {
      name: b.name,
      config: b,
      prefix: `b/${b.name}`,
      scope: compileScope(b.scope),
      scopeConfig: b.scope,
      limit,
      soft,
      block: b.onHard === 'block',
      windowAt,
    };
  });
}

/** Compiles the limits: one rule per limit and kind; unnamed limits are `limits[<index>]`. */
export function compileLimits(config: GatewayConfig): LimitRule[] {
  const rules: LimitRule[] = [];
  config.limits.forEach((l, i) => {
    const name = l.name ?? `limits[${i}]`;
    const scope = compileScope(l.scope);
    const scopeConfig = l.scope;
    if (l.rpm !== undefined) {
      const max = BigInt(l.rpm);
      rules.push({ name, kind: 'rpm', prefix: `l/${name}/rpm`, scope, scopeConfig, max });
    }
    if (l.tpm !== undefined) {
      const max = BigInt(l.tpm);
      rules.push({ name, kind: 'tpm', prefix: `l/${name}/tpm`, scope, scopeConfig, max });
    }
  });
  return rules;
}

/** The window every RPM/TPM counter uses. */
export const LIMIT_WINDOW: CounterWindow = MINUTE_WINDOW;

/** `team-monthly{team=search}`: a rule's name and the per-value part of its key (values stay URI-encoded). */
export function labelOf(
  rule: { readonly name: string; readonly prefix: string },
  key: string,
): string {
  const suffix = key.slice(rule.prefix.length);
  if (suffix === '') return rule.name;
  return `${rule.name}{${suffix.slice(1).replaceAll('|', ',')}}`;
}

/** The scope values a counter stands for: the configured patterns, with `*` replaced by the key's values. */
export function scopeOf(
  rule: { readonly prefix: string; readonly scopeConfig: GatewayScope },
  key: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [dim, v] of Object.entries(rule.scopeConfig)) if (v !== undefined) out[dim] = v;
  return { ...out, ...parseSuffix(key.slice(rule.prefix.length)) };
}
