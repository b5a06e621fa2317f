/** Attribution configuration: identity rules and request-metadata key aliases. Strict: unknown keys are errors. */
import { z } from 'zod';
import { DIMENSIONS } from '../core/index.ts';

const Regex = z.string().refine(
  (s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
);

export const IdentityMatch = z
  .object({
    arn: Regex.optional(),
    account: Regex.optional(),
    role: Regex.optional(),
    sessionName: Regex.optional(),
    userName: Regex.optional(),
  })
  .strict()
  .refine((m) => Object.keys(m).length > 0, { message: 'a rule must match on at least one field' });
export type IdentityMatch = z.infer<typeof IdentityMatch>;

const Dimension = z.enum(DIMENSIONS);

export const IdentityRule = z
  .object({
    name: z.string().min(1).optional(),
    match: IdentityMatch,
    /** Values to set; `$1`… and `$<name>` refer to groups of the last regex that matched. */
    set: z.partialRecord(Dimension, z.string().min(1)),
  })
  .strict();
export type IdentityRule = z.infer<typeof IdentityRule>;

export const AttributionConfig = z
  .object({
    /** Extra request-metadata keys read for a dimension, e.g. `{ cost_center: [CostCenter, costCenter] }`. */
    metadataKeys: z.partialRecord(Dimension, z.array(z.string().min(1))).default({}),
    /** Ordered; for each dimension the first matching rule that sets it wins. */
    rules: z.array(IdentityRule).default([]),
    /** Derive `user` from the role session name or IAM user name when nothing else set it. */
    userFromIdentity: z.boolean().default(true),
  })
  .strict();
export type AttributionConfig = z.infer<typeof AttributionConfig>;
