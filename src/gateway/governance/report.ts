/**
 * What governance tells people: refusals (a clear message plus JSON-able details naming the budget or limit, its
 * limit, spend and reset) and response headers. Pure functions of rule, counter level and time.
 */
import { formatUsd } from '../../core/index.ts';
import type { CounterLevel, CounterWindow } from './counter-store.ts';
import { type BudgetRule, type LimitRule, labelOf, type Matched } from './rules.ts';

/** Why a call is refused. `gateway.budget_exceeded` and `gateway.rate_limited` are 429s, the rest 403s. */
export type RefusalCode =
  | 'gateway.model_denied'
  | 'gateway.model_not_allowed'
  | 'gateway.unpriced_model'
  | 'gateway.budget_exceeded'
  | 'gateway.rate_limited';

/** A refused call: what the gateway answers instead of forwarding it. */
export interface Refusal {
  readonly ok: false;
  /** 429 (wait and retry), 400 (the call alone is larger than the budget or limit: it never fits), 403 (policy). */
  readonly status: 429 | 403 | 400;
  readonly code: RefusalCode;
  /** One sentence for people: which budget or limit, how much is left, when it resets. */
  readonly message: string;
  /** For the Retry-After header; absent when waiting cannot help (the call alone is over the limit). */
  readonly retryAfterSec?: number;
  /** JSON-able facts for the error body (amounts as decimal USD strings). */
  readonly details: Readonly<Record<string, string | number | null>>;
}

const PERIOD_TEXT = {
  calendar: {
    daily: 'calendar day',
    weekly: 'calendar week (from Monday)',
    monthly: 'calendar month',
  },
  rolling: { daily: 'rolling 24 hours', weekly: 'rolling 7 days', monthly: 'rolling 30 days' },
} as const;

const iso = (t: number): string => new Date(t).toISOString();

/** Seconds to wait: 1 when calls in flight hold the room (they may settle lower), else until spend frees. */
function retryAfter(
  level: CounterLevel,
  amount: bigint,
  max: bigint,
  freesAt: number,
  now: number,
) {
  if (amount > max) return undefined;
  if (level.spent + amount <= max) return 1;
  return Math.max(1, Math.ceil((freesAt - now) / 1000));
}

/** A 429 naming the budget, its limit, spend, reservations and when it resets. */
export function budgetRefusal(
  m: Matched<BudgetRule>,
  level: CounterLevel,
  cost: bigint,
  window: CounterWindow,
  freesAt: number,
  now: number,
): Refusal {
  const { rule } = m;
  const label = labelOf(rule, m.key);
  const c = rule.config;
  const per = PERIOD_TEXT[c.window][c.period];
  const zone = c.window === 'calendar' ? ` (${c.timezone})` : '';
  const resetsAt = window.kind === 'period' ? iso(window.end) : null;
  const retryAfterSec = retryAfter(level, cost, rule.limit, freesAt, now);
  let message: string;
  if (cost > rule.limit) {
    message = `Budget "${label}" allows ${formatUsd(rule.limit)} USD per ${per}${zone}; this call's worst case is ${formatUsd(cost)} USD on its own: lower its max tokens or input.`;
  } else {
    const when =
      level.spent + cost <= rule.limit
        ? 'Calls in flight hold the rest; retry shortly.'
        : resetsAt !== null
          ? `It resets at ${resetsAt}.`
          : `Spend starts leaving the window at ${iso(freesAt)}.`;
    message = `Budget "${label}" would be exceeded: ${formatUsd(rule.limit)} USD per ${per}${zone}, ${formatUsd(level.spent)} USD spent, ${formatUsd(level.reserved)} USD held by calls in flight, and this call may cost up to ${formatUsd(cost)} USD. ${when}`;
  }
  return {
    ok: false,
    // A call larger than the whole budget never fits: a 400, which SDKs do not retry, not a throttle.
    status: cost > rule.limit ? 400 : 429,
    code: 'gateway.budget_exceeded',
    message,
    ...(retryAfterSec === undefined ? {} : { retryAfterSec }),
    details: {
      budget: rule.name,
      scope: label,
      limitUsd: formatUsd(rule.limit),
      spentUsd: formatUsd(level.spent),
      reservedUsd: formatUsd(level.reserved),
      requestMaxUsd: formatUsd(cost),
      period: c.period,
      window: c.window,
      timezone: c.window === 'calendar' ? c.timezone : null,
      resetsAt,
    },
  };
}

/** A 429 naming the RPM/TPM limit and its use over the last minute. */
export function rateRefusal(
  m: Matched<LimitRule>,
  level: CounterLevel,
  amount: bigint,
  freesAt: number,
  now: number,
): Refusal {
  const { rule } = m;
  const label = labelOf(rule, m.key);
  const unit = rule.kind === 'rpm' ? 'requests' : 'tokens';
  const retryAfterSec = retryAfter(level, amount, rule.max, freesAt, now);
  const message =
    amount > rule.max
      ? `Rate limit "${label}" allows ${rule.max} ${unit} per minute; this call alone may use ${amount}.`
      : `Rate limit "${label}" reached: ${rule.max} ${unit} per minute, ${level.spent} used in the last minute${
          rule.kind === 'tpm' ? ` and ${level.reserved} held by calls in flight` : ''
        }.`;
  return {
    ok: false,
    status: amount > rule.max ? 400 : 429,
    code: 'gateway.rate_limited',
    message,
    ...(retryAfterSec === undefined ? {} : { retryAfterSec }),
    details: {
      limit: rule.name,
      scope: label,
      kind: rule.kind,
      max: Number(rule.max),
      used: Number(level.spent),
      reserved: Number(level.reserved),
      request: Number(amount),
    },
  };
}

/** A 403: the model is denied or not on the team's allow list, or it has no price while a hard budget applies. */
export function modelRefusal(
  code: 'gateway.model_denied' | 'gateway.model_not_allowed' | 'gateway.unpriced_model',
  model: string,
  detail: string,
): Refusal {
  const message = {
    'gateway.model_denied': `Model ${model} is denied for ${detail}.`,
    'gateway.model_not_allowed': `Model ${model} is not on the allowed list for ${detail}.`,
    'gateway.unpriced_model': `Model ${model} has no price, so budget "${detail}" cannot be enforced; add a price override for it.`,
  }[code];
  return { ok: false, status: 403, code, message, details: { model, policy: detail } };
}

/** Response headers of an admitted call. `levels[i]` is budget i's level before the call. */
export function budgetHeaders(
  headers: Record<string, string>,
  budgets: readonly Matched<BudgetRule>[],
  levels: readonly CounterLevel[],
  cost: bigint,
): void {
  const warnings: string[] = [];
  let tightest = -1;
  let tightestLeft = 0n;
  for (let i = 0; i < budgets.length; i++) {
    const { rule, key } = budgets[i] as Matched<BudgetRule>;
    const level = levels[i] as CounterLevel;
    const used = level.spent + level.reserved;
    if (used + cost > rule.limit && !rule.block) {
      warnings.push(
        `${labelOf(rule, key)} over its limit (${formatUsd(rule.limit)} USD, not enforced)`,
      );
    } else if (rule.soft !== null && used >= rule.soft) {
      warnings.push(`${labelOf(rule, key)} past its soft limit (${formatUsd(rule.soft)} USD)`);
    }
    const left = rule.limit - used - cost;
    if (rule.block && (tightest < 0 || left < tightestLeft)) {
      tightest = i;
      tightestLeft = left;
    }
  }
  if (warnings.length > 0) headers['x-tokenledger-budget-warning'] = warnings.join(', ');
  if (tightest >= 0) {
    const { rule, key } = budgets[tightest] as Matched<BudgetRule>;
    headers['x-tokenledger-budget-remaining'] =
      `${formatUsd(tightestLeft)}; budget=${labelOf(rule, key)}`;
  }
}

/** OpenAI-style rate-limit headers for the tightest RPM and TPM limit. `levels[i]` is limit i's level before. */
export function rateHeaders(
  headers: Record<string, string>,
  limits: readonly Matched<LimitRule>[],
  levels: readonly CounterLevel[],
  tokens: bigint,
): void {
  let rpm: bigint | null = null;
  let tpm: bigint | null = null;
  limits.forEach((m, i) => {
    const level = levels[i] as CounterLevel;
    const after = level.spent + level.reserved + (m.rule.kind === 'rpm' ? 1n : tokens);
    const left = m.rule.max - after;
    if (m.rule.kind === 'rpm' && (rpm === null || left < rpm)) {
      rpm = left;
      headers['x-ratelimit-limit-requests'] = String(m.rule.max);
      headers['x-ratelimit-remaining-requests'] = String(left);
    } else if (m.rule.kind === 'tpm' && (tpm === null || left < tpm)) {
      tpm = left;
      headers['x-ratelimit-limit-tokens'] = String(m.rule.max);
      headers['x-ratelimit-remaining-tokens'] = String(left);
    }
  });
}
