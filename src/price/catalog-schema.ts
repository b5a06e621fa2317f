/** The price catalog file format (`catalog/bedrock/<vendor>.json`). See catalog/README.md for the rules. */
import { z } from 'zod';

const Decimal = z.string().regex(/^\d+(\.\d+)?$/, 'a non-negative decimal string such as "3.75"');
const IsoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');

export const Rates = z
  .object({
    input: Decimal,
    output: Decimal.optional(),
    cacheRead: Decimal.optional(),
    cacheWrite5m: Decimal.optional(),
    cacheWrite1h: Decimal.optional(),
  })
  .strict();
export type Rates = z.infer<typeof Rates>;

export const PriceEntry = z
  .object({
    /** Unique, stable, never reused: `<model family>/<regions>/<tier>/<effectiveFrom>`. */
    id: z.string().min(1),
    /** Canonical foundation-model ids this entry prices (after ARN / profile prefixes are removed). */
    models: z.array(z.string().min(1)).min(1),
    /** Source Regions this entry applies to; `*` is the default for Regions without their own entry. */
    regions: z.array(z.string().min(1)).min(1),
    tier: z.enum(['standard', 'priority', 'flex', 'batch', 'latency-optimized']),
    effectiveFrom: IsoDate,
    /** USD per 1M tokens at the base scope: `global.` for models that have a global profile, else in-Region. */
    usdPerMillionTokens: Rates,
    /** Premium on geo and in-Region scopes over global (Claude Sonnet 4.5 and later: "0.10"). */
    regionalPremium: Decimal.optional(),
    /** When total input tokens exceed the threshold, the whole request is priced with these multipliers. */
    longContext: z
      .object({
        thresholdTokens: z.number().int().positive(),
        inputMultiplier: Decimal,
        outputMultiplier: Decimal,
      })
      .strict()
      .optional(),
    /** Embedding and other input-only models. */
    kind: z.enum(['text', 'embedding']).default('text'),
    /** A URL for the shipped catalog (checked by `prices check`); overrides may cite a contract instead. */
    source: z.string().min(1),
    verifiedOn: IsoDate,
    notes: z.string().optional(),
  })
  .strict();
export type PriceEntry = z.infer<typeof PriceEntry>;

export const CatalogFile = z
  .object({
    $comment: z.string().optional(),
    vendor: z.string().min(1),
    entries: z.array(PriceEntry),
  })
  .strict();
export type CatalogFile = z.infer<typeof CatalogFile>;

/** "12.5" → 12.5 % off. More than 0, at most 100, at most 4 decimals. */
const Percent = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,4})?$/, 'a percentage such as "12.5" (at most 4 decimals)')
  .refine((p) => Number(p) > 0 && Number(p) <= 100, 'a percentage above 0 and at most 100');

/**
 * A negotiated discount: `percent` off the list cost of every record it matches. All conditions given must hold;
 * a discount with no condition applies to everything. Several matching discounts compound (each is its own
 * agreement, e.g. an EDP on top of a private price).
 */
export const Discount = z
  .object({
    id: z.string().min(1),
    percent: Percent,
    match: z
      .object({
        account: z
          .string()
          .regex(/^\d{12}$/, 'a 12-digit AWS account id')
          .optional(),
        /** Canonical model id, e.g. `anthropic.claude-sonnet-4-6` (any id form is accepted and normalised). */
        model: z.string().min(1).optional(),
        /** The model's vendor prefix: `anthropic`, `amazon`, `meta`, … */
        provider: z
          .string()
          .regex(/^[a-z0-9-]+$/, 'a provider prefix such as "anthropic"')
          .optional(),
        region: z.string().min(1).optional(),
        tier: z.enum(['standard', 'priority', 'flex', 'batch', 'latency-optimized']).optional(),
      })
      .strict()
      .default({}),
    effectiveFrom: IsoDate,
    /** First day it no longer applies; open-ended when absent. */
    effectiveTo: IsoDate.optional(),
    source: z.string().min(1).optional(),
    notes: z.string().optional(),
  })
  .strict()
  .refine((d) => d.effectiveTo === undefined || d.effectiveTo > d.effectiveFrom, {
    message: 'effectiveTo must be after effectiveFrom',
    path: ['effectiveTo'],
  });
export type Discount = z.infer<typeof Discount>;

/**
 * A user's own prices (`prices.overrides` in tokenledger.yaml): entries in the catalog's schema that take
 * precedence over the shipped catalog where both are in force, and discounts.
 */
export const OverridesFile = z
  .object({
    $comment: z.string().optional(),
    entries: z.array(PriceEntry).default([]),
    discounts: z.array(Discount).default([]),
  })
  .strict();
export type OverridesFile = z.infer<typeof OverridesFile>;
