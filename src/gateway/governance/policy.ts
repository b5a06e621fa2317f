/**
 * The static half of governance, compiled once from configuration: `*` patterns, budget/limit scopes (which
 * counter a call belongs to), model allow/deny lists per team, and downgrade rules.
 */
import { UNALLOCATED } from '../../core/index.ts';
import type { GatewayDowngrade, GatewayModelPolicy, GatewayScope } from '../config.ts';

/** The attribution a scope matches on. Absent values are `unallocated`, as in the ledger. */
export const SCOPE_DIMENSIONS = ['team', 'user', 'key', 'feature', 'project', 'model'] as const;
export type ScopeDimension = (typeof SCOPE_DIMENSIONS)[number];
export type ScopeValues = Readonly<Record<ScopeDimension, string>>;

/** A `*` pattern as a predicate: `*` is any run of characters (none included), the rest is literal. */
export function compilePattern(pattern: string): (value: string) => boolean {
  if (!pattern.includes('*')) return (value) => value === pattern;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`, 's');
  return (value) => re.test(value);
}

/** Distinct values a memo keeps (suffixes, counter keys) before it starts over: callers come and go. */
export const MEMO_MAX = 10_000;

/** A compiled scope: which calls it counts and under which counter key. */
export interface CompiledScope {
  /** The counter key suffix for these values ('' for a shared counter), or null when the scope does not match. */
  match(values: ScopeValues): string | null;
  /** Dimensions written `*`: one counter per distinct value. */
  readonly perValue: readonly ScopeDimension[];
}

/**
 * Compiles a scope. A suffix is `|dim=value` per `*` dimension, values URI-encoded, so keys are unambiguous and
 * `parseSuffix` can show them again.
 */
export function compileScope(scope: GatewayScope): CompiledScope {
  const tests: { dim: ScopeDimension; test: (v: string) => boolean }[] = [];
  const perValue: ScopeDimension[] = [];
  for (const dim of SCOPE_DIMENSIONS) {
    const pattern = scope[dim];
    if (pattern === undefined) continue;
    if (pattern === '*') perValue.push(dim);
    else tests.push({ dim, test: compilePattern(pattern) });
  }
  const only = perValue.length === 1 ? (perValue[0] as ScopeDimension) : null;
  /**
   * With one `*` dimension (the usual `team: '*'` or `key: '*'`): the suffix of each value made once, so every call
   * of the same caller gets the same string (a map lookup by it needs no hashing again).
   */
  const suffixes = new Map<string, string>();
  return {
    perValue,
    match(values) {
      for (const t of tests) if (!t.test(values[t.dim])) return null;
      if (perValue.length === 0) return '';
      if (only !== null) {
        const value = values[only];
        let suffix = suffixes.get(value);
        if (suffix === undefined) {
          if (suffixes.size >= MEMO_MAX) suffixes.clear();
          suffix = `|${only}=${encodeURIComponent(value)}`;
          suffixes.set(value, suffix);
        }
        return suffix;
      }
      let suffix = '';
      for (const dim of perValue) suffix += `|${dim}=${encodeURIComponent(values[dim])}`;
      return suffix;
    },
  };
}

/** The values of a key suffix made by `CompiledScope.match`. */
export function parseSuffix(suffix: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const part of suffix.split('|')) {
    const eq = part.indexOf('=');
    if (eq > 0) values[part.slice(0, eq)] = decodeURIComponent(part.slice(eq + 1));
  }
  return values;
}

/** Why a model was refused for a team. */
export interface ModelRefusal {
  readonly reason: 'denied' | 'not_allowed';
  /** The `models` entry that refused it: a team name or `*`. */
  readonly entry: string;
  /** The deny pattern that matched (for `denied`). */
  readonly pattern: string | null;
}

/**
 * Model policy: the `*` entry and the team's own entry both apply, and a model must pass each (so a team entry
 * can narrow the organisation's list but never widen it). Within an entry, deny wins over allow.
 */
export function compileModelPolicy(
  models: Readonly<Record<string, GatewayModelPolicy>>,
): (team: string, model: string) => ModelRefusal | null {
  const compiled = new Map<
    string,
    {
      allow: ((m: string) => boolean)[] | null;
      deny: { pattern: string; test: (m: string) => boolean }[];
    }
  >();
  for (const [entry, policy] of Object.entries(models)) {
    compiled.set(entry, {
      allow: policy.allow?.map(compilePattern) ?? null,
      deny: (policy.deny ?? []).map((pattern) => ({ pattern, test: compilePattern(pattern) })),
    });
  }
  const global = compiled.get('*');
  const check = (entry: string, model: string): ModelRefusal | null => {
    const p = entry === '*' ? global : compiled.get(entry);
    if (p === undefined) return null;
    const denied = p.deny.find((d) => d.test(model));
    if (denied !== undefined) return { reason: 'denied', entry, pattern: denied.pattern };
    if (p.allow !== null && !p.allow.some((t) => t(model))) {
      return { reason: 'not_allowed', entry, pattern: null };
    }
    return null;
  };
  if (compiled.size === 0) return () => null;
  return (team, model) => check('*', model) ?? (team === '*' ? null : check(team, model));
}

/** The first downgrade rule whose `from` matches the model, or null. */
export function compileDowngrades(
  rules: readonly GatewayDowngrade[],
): (model: string) => GatewayDowngrade | null {
  const compiled = rules.map((rule) => ({ rule, test: compilePattern(rule.from) }));
  return (model) => {
    for (const c of compiled) if (c.rule.to !== model && c.test(model)) return c.rule;
    return null;
  };
}

/** Scope values of a call, absent attribution as `unallocated`. */
export function scopeValues(v: {
  readonly key?: string | null | undefined;
  readonly team?: string | null | undefined;
  readonly user?: string | null | undefined;
  readonly feature?: string | null | undefined;
  readonly project?: string | null | undefined;
  readonly model?: string | null | undefined;
}): ScopeValues {
  return {
    team: v.team ?? UNALLOCATED,
    user: v.user ?? UNALLOCATED,
    key: v.key ?? UNALLOCATED,
    feature: v.feature ?? UNALLOCATED,
    project: v.project ?? UNALLOCATED,
    model: v.model ?? UNALLOCATED,
  };
}
