/**
 * Re-pricing: after a catalog, override or inference-profile change, every stored record in range is normalised and
 * priced again with the same code as the ingest (one rate card per distinct key) and updated where its price
 * changed. Idempotent: a second run with the same catalog changes nothing. Attribution is left as stored.
 */
import type { Normaliser } from '../normalise/index.ts';
import type { Catalog } from '../price/index.ts';
import type { RepriceResult, Store } from '../store/index.ts';
import { resolvePriceMaps } from './bulk-maps.ts';

export interface RepriceDeps {
  readonly store: Store;
  readonly catalog: Catalog;
  readonly normaliser: Normaliser;
}

export interface RepriceOptions {
  /** Only records at or after this time (epoch ms); everything when absent. */
  readonly sinceMs?: number;
  /** Compute and report the differences without writing them. */
  readonly dryRun?: boolean;
}

export async function reprice(
  deps: RepriceDeps,
  opts: RepriceOptions = {},
): Promise<RepriceResult> {
  const since = opts.sinceMs ?? 0;
  const keys = await deps.store.reprice.keys(since);
  const maps = resolvePriceMaps(keys.models, keys.priceKeys, deps);
  return deps.store.reprice.apply(maps, since, { dryRun: opts.dryRun ?? false });
}
