/**
 * Classifies the distinct usage-type keys of a staged bill with the Price List's usage-type grammar (bedrock.md
 * §2.5): per-token usage → model, Region, token class, tier, scope; a usage type no grammar reads stays in the bill
 * as `unknown` with its reason (counted and shown, never dropped); credits, tax, discounts, Provisioned Throughput and
 * other line types are `other`, with what their usage type says when it says something.
 */
import { BILLING_MODEL_MAP, parseUsageType, regionOf } from '../price/index.ts';
import type { BillClass, BillKey } from '../store/index.ts';

/** Line item types that bill tokens (the others adjust or add to them). */
const USAGE_TYPES = new Set(['Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage']);

/** Tokens per unit of `line_item_usage_amount`, from `pricing_unit`; null when it does not say. */
export function unitTokens(pricingUnit: string): number | null {
  const u = pricingUnit.trim().toLowerCase();
  if (/^(1k|1,000|thousand|1000) tokens?$/.test(u) || u === 'k tokens') return 1000;
  if (/^(1m|1,000,000|million|1000000) tokens?$/.test(u)) return 1_000_000;
  // Marketplace `-Units` rows count tokens (bedrock.md §2.5 C; INFERRED, the amount × rate ≈ cost check confirms it).
  if (/^(tokens?|units?|count)$/.test(u)) return 1;
  return null;
}

export function classifyBillKey(k: BillKey): BillClass {
  const usage =
    k.usageType === ''
      ? null
      : parseUsageType(k.usageType, {
          ...(k.servicename ? { servicename: k.servicename } : {}),
          ...(k.productModel ? { model: k.productModel } : {}),
        });
  const isUsage = USAGE_TYPES.has(k.lineItemType);
  const none = {
    ...k,
    region: k.regionCode || null,
    model: null,
    billingModel: null,
    tokenClass: null,
    tier: null,
    scope: null,
    longContext: null,
    unitTokens: null,
  };
  if (usage === null) {
    return isUsage
      ? { ...none, classification: 'unknown', reason: 'usage line without a usage type' }
      : { ...none, classification: 'other', reason: null };
  }
  if (!usage.ok) {
    const known = /Provisioned|Reserved|custom-model/.test(usage.reason);
    return {
      ...none,
      classification: isUsage && !known ? 'unknown' : 'other',
      reason: usage.reason,
    };
  }
  const u = usage.value;
  const region = regionOf(u.prefix, k.regionCode || undefined);
  const model = BILLING_MODEL_MAP[u.billingModel]?.[0] ?? null;
  const reasons = [
    model === null ? `billing name "${u.billingModel}" is not mapped to a model id` : null,
    region.ok ? null : region.reason,
  ].filter((r): r is string => r !== null);
  return {
    ...k,
    classification: isUsage ? 'tokens' : 'other',
    reason: reasons.length > 0 ? reasons.join('; ') : null,
    region: region.ok ? region.value : k.regionCode || null,
    model,
    billingModel: u.billingModel,
    tokenClass: u.tokenClass,
    tier: u.tier,
    scope: u.scope,
    longContext: u.longContext,
    unitTokens: unitTokens(k.pricingUnit),
  };
}
