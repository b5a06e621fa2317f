/**
 * Loads the price catalog (data, not code), validates it, hashes it, and answers "which entry prices this model in
 * this Region and tier at this time". Rates are converted once to pico-USD per token and kept per scope, so the
 * hot path does one map lookup and bigint multiplications.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AppError,
  type Picos,
  parseUsdPerMillion,
  type Scope,
  scaleExact,
  type Tier,
} from '../core/index.ts';
import { CatalogFile, type PriceEntry } from './catalog-schema.ts';

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
  readonly effectiveFromMs: number;
  /** Rates at the entry's base scope, and with the regional premium applied (same object when none). */
  readonly base: RateSet;
  readonly regional: RateSet;
  /** Same two, with the long-context multipliers applied; null when the entry has no long-context tier. */
  readonly longContextBase: RateSet | null;
  readonly longContextRegional: RateSet | null;
}

export interface Catalog {
  readonly hash: string;
  readonly entries: readonly ResolvedEntry[];
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
}

export function loadCatalogFiles(paths: readonly string[]): Catalog {
  const entries: PriceEntry[] = [];
  for (const path of paths) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e: unknown) {
      throw new AppError('price.catalog_invalid', `${path}: not valid JSON`, { cause: e });
    }
    const parsed = CatalogFile.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue ? issue.path.join('.') : '';
      throw new AppError(
        'price.catalog_invalid',
        `${path}: ${where}: ${issue?.message ?? 'invalid'}`,
      );
    }
    entries.push(...parsed.data.entries);
  }
  return buildCatalog(entries);
}

export function loadCatalogDir(dir: string): Catalog {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f));
  return loadCatalogFiles(files);
}

/** The catalog that ships with tokenledger (`catalog/bedrock`). */
export function defaultCatalogDir(): string {
  return join(import.meta.dirname, '..', '..', 'catalog', 'bedrock');
}

export function buildCatalog(rawEntries: readonly PriceEntry[]): Catalog {
  checkUnique(rawEntries);
  const entries = rawEntries.map(resolveEntry);
  const byModel = new Map<string, ResolvedEntry[]>();
  for (const r of entries) {
    for (const model of r.entry.models) {
      const list = byModel.get(model) ?? [];
      list.push(r);
      byModel.set(model, list);
    }
  }
  // The Region's own entries (newest first), then the `*` entries (newest first): the first one in force wins, so
  // a Region's own price applies from its effectiveFrom and `*` still covers that Region's older records.
  type Candidates = { list: readonly ResolvedEntry[]; earliest: ResolvedEntry | undefined };
  const cache = new Map<string, Candidates>();
  const candidates = (model: string, region: string, tier: Tier): Candidates => {
    const key = `${model}|${region}|${tier}`;
    let found = cache.get(key);
    if (found === undefined) {
      const all = (byModel.get(model) ?? []).filter((r) => r.entry.tier === tier);
      const newestFirst = (a: ResolvedEntry, b: ResolvedEntry) =>
        b.effectiveFromMs - a.effectiveFromMs;
      const own = all.filter((r) => r.entry.regions.includes(region)).sort(newestFirst);
      const star = all.filter((r) => r.entry.regions.includes('*')).sort(newestFirst);
      found = { list: [...own, ...star], earliest: (own.length > 0 ? own : star).at(-1) };
      cache.set(key, found);
    }
    return found;
  };
  return {
    hash: catalogHash(rawEntries),
    entries,
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
  };
}

function resolveEntry(entry: PriceEntry): ResolvedEntry {
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

/** '0.10' → '1.10', exactly. */
function addOne(premium: string): string {
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

/** sha256 of the entries in canonical form (sorted by id, keys sorted), first 16 hex digits. */
export function catalogHash(entries: readonly PriceEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return createHash('sha256').update(canonicalJson(sorted)).digest('hex').slice(0, 16);
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
