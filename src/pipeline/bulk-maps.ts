/**
 * The bulk path's JS half: the same normalise, price and attribute code as the row-by-row path, run once per
 * distinct key the store staged (model id; model × Region × tier × account × day; identity × metadata × model).
 */
import type { Attributor } from '../attribute/index.ts';
import type { Picos, Tier, UsageRecord } from '../core/index.ts';
import { isUnresolved, type Normaliser } from '../normalise/index.ts';
import { type Catalog, type RateSet, rateCard } from '../price/index.ts';
import type { BulkMaps, BulkPriceRow, BulkStage, PriceKey } from '../store/index.ts';

const dec = (v: Picos | null | undefined): string | null =>
  v === null || v === undefined ? null : v.toString();

function rateColumns(prefix: 'r' | 'lc', r: RateSet | null) {
  return {
    [`${prefix}_in`]: dec(r?.input),
    [`${prefix}_out`]: dec(r?.output),
    [`${prefix}_read`]: dec(r?.cacheRead),
    [`${prefix}_w5`]: dec(r?.cacheWrite5m),
    [`${prefix}_w1`]: dec(r?.cacheWrite1h),
  };
}

interface PriceDeps {
  readonly normaliser: Normaliser;
  readonly catalog: Catalog;
}

/** Model rows and rate cards for distinct model ids and price keys: what bulk insert and reprice both need. */
export function resolvePriceMaps(
  modelIds: readonly string[],
  priceKeys: readonly PriceKey[],
  deps: PriceDeps,
): Omit<BulkMaps, 'attributions'> {
  const models = modelIds.map((id) => {
    const ref = deps.normaliser.modelRef(id);
    return {
      model_id: id,
      model: ref.base,
      profile: ref.profile,
      scope: ref.scope,
      geo: ref.geo,
      model_form: ref.form,
      unresolved: isUnresolved(ref),
    };
  });
  const prices = priceKeys.map((k): BulkPriceRow => {
    const ref = deps.normaliser.modelRef(k.modelId);
    const card = rateCard(
      ref,
      k.region,
      k.tier as Tier | null,
      Date.parse(`${k.day}T00:00:00Z`),
      deps.catalog,
      k.account,
    );
    return {
      model_id: k.modelId,
      region: k.region,
      tier: k.tier,
      account: k.account,
      day: k.day,
      price_id: card.resolved?.entry.id ?? null,
      tier_unknown: card.tierUnknown,
      unpriced: card.rates === null,
      early: card.early,
      regional: card.regional,
      override: card.resolved?.override ?? false,
      lc_threshold: card.longContextThreshold,
      disc_num: dec(card.discount?.num),
      disc_den: dec(card.discount?.den),
      ...rateColumns('r', card.rates),
      ...rateColumns('lc', card.longContextRates),
    } as BulkPriceRow;
  });
  return { catalogHash: deps.catalog.hash, models, prices };
}

/**
 * Resolves the maps of one bulk group's keys — the keys the store has not been given yet — with the same normalise,
 * price and attribute code as the row-by-row path.
 */
export function createBulkResolver(
  deps: PriceDeps & { attributor: Attributor },
): (stage: BulkStage) => BulkMaps {
  const keys = deps.attributor.metadataKeys;
  // The attributor shares one rules object per distinct set of winning rules: serialise each once.
  const ruleJson = new WeakMap<object, string>();
  const attribute = (k: BulkStage['attributionKeys'][number]) => {
    const md: Record<string, string> = {};
    if (k.mdKey !== null) {
      (JSON.parse(k.mdKey) as (string | null)[]).forEach((v, i) => {
        if (v !== null) md[keys[i] as string] = v;
      });
    }
    const record = {
      identityArn: k.identityArn,
      requestMetadata: md,
      model: k.aip === null ? { profileTags: {} } : deps.normaliser.modelRef(k.aip),
    } as unknown as UsageRecord;
    const { values, rules } = deps.attributor.resolve(record);
    let attribution = ruleJson.get(rules);
    if (attribution === undefined) {
      attribution = JSON.stringify(rules);
      ruleJson.set(rules, attribution);
    }
    return { identity_arn: k.identityArn, md_key: k.mdKey, aip: k.aip, ...values, attribution };
  };
  return (stage) => ({
    ...resolvePriceMaps(stage.models, stage.priceKeys, deps),
    attributions: stage.attributionKeys.map(attribute),
  });
}
