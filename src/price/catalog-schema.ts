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
    source: z.string().url(),
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
