/** The root configuration schema, composed from each module's own schema. Strict: a misspelt key is an error. */
import { z } from 'zod';
import { AttributionConfig } from '../attribute/index.ts';
import { gatewayConfigSchema } from '../gateway/index.ts';

export const InferenceProfileConfig = z
  .object({
    /** The model or system profile the application inference profile was created from. */
    model: z.string().min(1),
    /** Its tags; dimension names (team, application, …) become attribution values. */
    tags: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export const Config = z
  .object({
    /** Application inference profile ARN → what it resolves to (what `GetInferenceProfile` would say). */
    inferenceProfiles: z
      .record(
        z
          .string()
          .regex(
            /^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:application-inference-profile\/[a-z0-9]+$/,
            {
              message: 'keys must be application-inference-profile ARNs',
            },
          ),
        InferenceProfileConfig,
      )
      .default({}),
    attribution: AttributionConfig.default({ metadataKeys: {}, rules: [], userFromIdentity: true }),
    prices: z
      .object({
        /**
         * Directory of catalog files replacing the bundled catalog (for testing a new price before a release).
         * Relative paths are relative to the configuration file.
         */
        catalogDir: z.string().min(1).optional(),
        /**
         * JSON file of the organisation's own prices (entries in the catalog's schema) and discounts, which take
         * precedence over the catalog. Relative to the configuration file.
         */
        overrides: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    /** The gateway (`tokenledger gateway`): budgets, rate limits, model policy, downgrades, spool, upstream. */
    gateway: gatewayConfigSchema.default(gatewayConfigSchema.parse({})),
    /** The OTLP receiver (`tokenledger collect`, `serve`). */
    otlp: z
      .object({
        /** Serve HTTPS with this PEM certificate chain and private key (paths relative to this file). */
        tls: z
          .object({ cert: z.string().min(1), key: z.string().min(1) })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
  })
  .strict();
export type Config = z.infer<typeof Config>;
