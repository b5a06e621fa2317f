/**
 * Loads the price catalog (data, not code), validates it, hashes it, and answers "which entry prices this model in
 * this Region and tier at this time". Rates are converted once to pico-USD per token and kept per scope, so the
 * hot path does one map lookup and bigint multiplications.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import {
  AppError,
  type Picos,
  parseUsdPerMillion,
  type Scope,
  scaleExact,
  type Tier,
} from '../core/index.ts';
import { CatalogFile, type Discount, OverridesFile, type PriceEntry } from './catalog-schema.ts';

/** Pico-USD per token for each token class; null where the catalog has no rate for that class. */
export interface RateSet {
  readonly input: Picos;
  readonly output: Picos | null;
  readonly cacheRead: Picos | null;
  readonly cacheWrite5m: Picos | null;
  readonly cacheWrite1h: Picos | null;
}

export interface ResolvedEntry {
  readonly entry: PriceEntry;
  /** From the user's overrides file rather than the shipped catalog. */
  readonly override: boolean;
  readonly effectiveFromMs: number;
  /** Rates at the entry's base scope, and with the regional premium applied (same object when none). */
  readonly base: RateSet;
  readonly regional: RateSet;
  /** Same two, with the long-context multipliers applied; null when the entry has no long-context tier. */
  readonly longContextBase: RateSet | null;
  readonly longContextRegional: RateSet | null;
}

/** The discounts that apply to a record, compounded into one exact factor `num / den`. */
export interface Discounting {
  readonly ids: readonly string[];
  readonly num: bigint;
  readonly den: bigint;
}

export interface Catalog {
  /** Content hash of the entries, overrides and discounts: stored on every priced record. */
  readonly hash: string;
  readonly entries: readonly ResolvedEntry[];
  readonly discounts: readonly Discount[];
  /**
   * The entry in force at `atMs` for the model, source Region and tier. Before the model's first entry, the earliest
   * entry with `early: true` (the record is older than anything the catalog knows); null when none exists.
   */
  find(
    model: string,
    region: string,
    tier: Tier,
    atMs: number,
  ): { resolved: ResolvedEntry; early: boolean } | null;
  /** Rates for a record's scope and size, from an entry `find` returned. */
  rates(resolved: ResolvedEntry, scope: Scope, longContext: boolean): RateSet;
  /** The discounts in force for a record of this account, model, Region and tier at `atMs`; null when none. */
  discount(
    account: string,
    model: string,
    region: string,
    tier: Tier,
    atMs: number,
  ): Discounting | null;
}

/** The user's overrides, as loaded from `prices.overrides`. */
export interface Overrides {
  readonly entries: readonly PriceEntry[];
  readonly discounts: readonly Discount[];
  /** The file they came from, for error messages. */
  readonly source?: string;
}

export const NO_OVERRIDES: Overrides = { entries: [], discounts: [] };

/** Reads and validates one JSON file against a schema; errors name the file and the field. */
function readValidated<T>(path: string, schema: z.ZodType<T>, code: string): T {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e: unknown) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new AppError(code, `${path}: ${missing ? 'no such file' : 'not valid JSON'}`, {
      cause: e,
    });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.join('.') : '';
    throw new AppError(code, `${path}: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export function loadCatalogFiles(
  paths: readonly string[],
  overrides: Overrides = NO_OVERRIDES,
): Catalog {
  const entries = paths.flatMap(
    (path) => readValidated(path, CatalogFile, 'price.catalog_invalid').entries,
  );
  return buildCatalog(entries, overrides);
}

export function catalogFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f));
}

export function loadCatalogDir(dir: string, overrides: Overrides = NO_OVERRIDES): Catalog {
  return loadCatalogFiles(catalogFilesIn(dir), overrides);
}

/** The user's overrides file (`prices.overrides`), validated; an entry id may not reuse a catalog id. */
export function loadOverrides(path: string): Overrides {
  const file = readValidated(path, OverridesFile, 'price.overrides_invalid');
  const ids = new Set<string>();
  for (const d of file.discounts) {
    if (ids.has(d.id)) {
      throw new AppError('price.overrides_invalid', `${path}: duplicate discount id ${d.id}`);
    }
    ids.add(d.id);
  }
  try {
    checkUnique(file.entries);
    for (const e of file.entries) resolveEntry(e, true);
  } catch (e: unknown) {
    throw new AppError('price.overrides_invalid', `${path}: ${(e as Error).message}`, { cause: e });
  }
  return { entries: file.entries, discounts: file.discounts, source: path };
}

/** The catalog that ships with tokenledger (`catalog/bedrock`). */
export function defaultCatalogDir(): string {
  return join(import.meta.dirname, '..', '..', 'catalog', 'bedrock');
}

export function buildCatalog(
  rawEntries: readonly PriceEntry[],
  overrides: Overrides = NO_OVERRIDES,
): Catalog {
  checkUnique(rawEntries);
  checkUnique(overrides.entries);
  const shippedIds = new Set(rawEntries.map((e) => e.id));
  for (const e of overrides.entries) {
    if (shippedIds.has(e.id)) {
      throw new AppError(
        'price.overrides_invalid',
        `${overrides.source ?? 'overrides'}: entry id ${e.id} is already a catalog entry id; give it its own id`,
      );
    }
  }
  const entries = [
    ...rawEntries.map((e) => resolveEntry(e, false)),
    ...overrides.entries.map((e) => resolveEntry(e, true)),
  ];
  const byModel = new Map<string, ResolvedEntry[]>();
  for (const r of entries) {
    for (const model of r.entry.models) {
      const list = byModel.get(model) ?? [];
      list.push(r);
      byModel.set(model, list);
    }
  }
  // The Region's own entries (newest first), then the `*` entries (newest first): the first one in force wins, so
  // a Region's own price applies from its effectiveFrom and `*` still covers that Region's older records. The
  // user's override entries come before all shipped ones, in the same order.
  type Candidates = { list: readonly ResolvedEntry[]; earliest: ResolvedEntry | undefined };
  const cache = new Map<string, Candidates>();
  const candidates = (model: string, region: string, tier: Tier): Candidates => {
    const key = `${model}|${region}|${tier}`;
    let found = cache.get(key);
    if (found === undefined) {
      const all = (byModel.get(model) ?? []).filter((r) => r.entry.tier === tier);
      const newestFirst = (a: ResolvedEntry, b: ResolvedEntry) =>
        b.effectiveFromMs - a.effectiveFromMs;
      const pick = (override: boolean) => {
        const mine = all.filter((r) => r.override === override);
        const own = mine.filter((r) => r.entry.regions.includes(region)).sort(newestFirst);
        const star = mine.filter((r) => r.entry.regions.includes('*')).sort(newestFirst);
        return [...own, ...star];
      };
      const shipped = pick(false);
      const list = [...pick(true), ...shipped];
      // Before anything is in force: the shipped entry the catalog would have used (its earliest).
      const fallback = shipped.length > 0 ? shipped : list;
      const ownFirst = fallback.filter((r) => r.entry.regions.includes(region));
      found = { list, earliest: (ownFirst.length > 0 ? ownFirst : fallback).at(-1) };
      cache.set(key, found);
    }
    return found;
  };
  const discounts = overrides.discounts.map((d) => ({
    d,
    fromMs: Date.parse(`${d.effectiveFrom}T00:00:00Z`),
    toMs:
      d.effectiveTo === undefined
        ? Number.POSITIVE_INFINITY
        : Date.parse(`${d.effectiveTo}T00:00:00Z`),
    ...percentFactor(d.percent),
  }));
  return {
    hash: catalogHash(rawEntries, overrides),
    entries,
    discounts: overrides.discounts,
    find(model, region, tier, atMs) {
      const { list, earliest } = candidates(model, region, tier);
      for (const r of list) if (r.effectiveFromMs <= atMs) return { resolved: r, early: false };
      return earliest === undefined ? null : { resolved: earliest, early: true };
    },
    rates(resolved, scope, longContext) {
      const regional = scope !== 'global';
      if (longContext && resolved.longContextBase && resolved.longContextRegional) {
        return regional ? resolved.longContextRegional : resolved.longContextBase;
      }
      return regional ? resolved.regional : resolved.base;
    },
    discount(account, model, region, tier, atMs) {
      if (discounts.length === 0) return null;
      let num = 1n;
      let den = 1n;
      const ids: string[] = [];
      for (const x of discounts) {
        const m = x.d.match;
        if (atMs < x.fromMs || atMs >= x.toMs) continue;
        if (m.account !== undefined && m.account !== account) continue;
        if (m.model !== undefined && m.model !== model) continue;
        if (m.provider !== undefined && !model.startsWith(`${m.provider}.`)) continue;
        if (m.region !== undefined && m.region !== region) continue;
        if (m.tier !== undefined && m.tier !== tier) continue;
        ids.push(x.d.id);
        num *= x.num;
        den *= x.den;
      }
      return ids.length === 0 ? null : { ids, num, den };
    },
  };
}

/** '12.5' (percent off) → 875000 / 1000000, exactly. */
function percentFactor(percent: string): { num: bigint; den: bigint } {
  const [whole = '0', frac = ''] = percent.split('.');
  const scale = 10n ** BigInt(frac.length);
  const off = BigInt(whole + frac);
  return { num: 100n * scale - off, den: 100n * scale };
}

/** `picos × num / den`, rounded half up to a whole pico-USD (costs are never negative). */
export function applyDiscount(picos: Picos, d: Discounting): Picos {
  return (picos * d.num * 2n + d.den) / (2n * d.den);
}

function resolveEntry(entry: PriceEntry, override: boolean): ResolvedEntry {
  const p = entry.usdPerMillionTokens;
  let base: RateSet;
  try {
    base = {
      input: parseUsdPerMillion(p.input),
      output: p.output === undefined ? null : parseUsdPerMillion(p.output),
      cacheRead: p.cacheRead === undefined ? null : parseUsdPerMillion(p.cacheRead),
      cacheWrite5m: p.cacheWrite5m === undefined ? null : parseUsdPerMillion(p.cacheWrite5m),
      cacheWrite1h: p.cacheWrite1h === undefined ? null : parseUsdPerMillion(p.cacheWrite1h),
    };
  } catch (e: unknown) {
    throw new AppError('price.catalog_invalid', `entry ${entry.id}: ${String(e)}`, { cause: e });
  }
  const premium = entry.regionalPremium;
  const regional =
    premium === undefined ? base : scaleRates(entry.id, base, addOne(premium), addOne(premium));
  const lc = entry.longContext;
  return {
    entry,
    override,
    effectiveFromMs: Date.parse(`${entry.effectiveFrom}T00:00:00Z`),
    base,
    regional,
    longContextBase: lc
      ? scaleRates(entry.id, base, lc.inputMultiplier, lc.outputMultiplier)
      : null,
    longContextRegional: lc
      ? scaleRates(entry.id, regional, lc.inputMultiplier, lc.outputMultiplier)
      : null,
  };
}

/** '0.10' → '1.10', exactly: a premium as the factor it multiplies by. */
export function addOne(premium: string): string {
  const [whole = '0', frac = ''] = premium.split('.');
  return `${BigInt(whole) + 1n}${frac ? `.${frac}` : ''}`;
}

function scaleRates(id: string, r: RateSet, inputFactor: string, outputFactor: string): RateSet {
  const s = (v: Picos | null, f: string): Picos | null => {
    if (v === null) return null;
    try {
      return scaleExact(v, f);
    } catch (e: unknown) {
      throw new AppError('price.catalog_invalid', `entry ${id}: ${String(e)}`, { cause: e });
    }
  };
  return {
    input: s(r.input, inputFactor) ?? 0n,
    output: s(r.output, outputFactor),
    cacheRead: s(r.cacheRead, inputFactor),
    cacheWrite5m: s(r.cacheWrite5m, inputFactor),
    cacheWrite1h: s(r.cacheWrite1h, inputFactor),
  };
}

function checkUnique(entries: readonly PriceEntry[]): void {
  const ids = new Set<string>();
  const keys = new Set<string>();
  for (const e of entries) {
    if (ids.has(e.id)) throw new AppError('price.catalog_invalid', `duplicate entry id ${e.id}`);
    ids.add(e.id);
    for (const model of e.models) {
      for (const region of e.regions) {
        const key = `${model}|${region}|${e.tier}|${e.effectiveFrom}`;
        if (keys.has(key)) {
          throw new AppError(
            'price.catalog_invalid',
            `two entries price ${key.replaceAll('|', ' ')}`,
          );
        }
        keys.add(key);
      }
    }
  }
}

/**
 * sha256 of the entries in canonical form (sorted by id, keys sorted), first 16 hex digits. Overrides, when there
 * are any, are hashed after them, so the shipped catalog alone keeps its hash.
 */
export function catalogHash(
  entries: readonly PriceEntry[],
  overrides: Overrides = NO_OVERRIDES,
): string {
  const byId = <T extends { id: string }>(list: readonly T[]) =>
    [...list].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const hash = createHash('sha256').update(canonicalJson(byId(entries)));
  if (overrides.entries.length > 0 || overrides.discounts.length > 0) {
    hash.update(
      canonicalJson({ entries: byId(overrides.entries), discounts: overrides.discounts }),
    );
  }
  return hash.digest('hex').slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
