/**
 * Re-pricing: after a catalog, override or inference-profile change, every stored record in range is normalised and
 * priced again with the same code as the ingest (one rate card per distinct key) and updated where its price
 * changed. Idempotent: a second run with the same catalog changes nothing. Attribution is left as stored. Model ids
 * are normalised as every path that stored them did (`withResponseModelNames`: client-only telemetry rows may carry
 * an Anthropic response-body model name).
 */
import type { Normaliser } from '../normalise/index.ts';
import type { Catalog } from '../price/index.ts';
import type { RepriceResult, Store } from '../store/index.ts';
import { resolvePriceMaps } from './bulk-maps.ts';
import { withResponseModelNames } from './response-model.ts';

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
  // Normalised as the OTLP sink normalised them: a client-only row's model id may be a response-body name.
  const normaliser = withResponseModelNames(deps.normaliser, deps.catalog);
  const maps = resolvePriceMaps(keys.models, keys.priceKeys, { normaliser, catalog: deps.catalog });
  return deps.store.reprice.apply(maps, since, { dryRun: opts.dryRun ?? false });
}
