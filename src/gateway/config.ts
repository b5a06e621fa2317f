/**
 * The `gateway:` section of tokenledger.yaml: listening port, upstream, budgets, rate limits, model policy,
 * downgrades, worst-case reservation and the usage spool. Strict like the root schema: a misspelt key is an error.
 * Keys are camelCase like the rest of the file; money is a quoted decimal string, never a YAML number.
 */
import { z } from 'zod';
import { parseUsd } from '../core/index.ts';

const USD = /^\d+(\.\d{1,12})?$/;

/** Pico-USD of a valid amount, null otherwise (zod runs every check, even after the format check failed). */
function picosOrNull(s: string | undefined): bigint | null {
  return s !== undefined && USD.test(s) ? parseUsd(s) : null;
}

/** A positive USD amount written as a decimal string ("250", "0.50"); at most 12 decimals (one pico-USD). */
const UsdAmount = z
  .string()
  .regex(USD, { message: 'write USD amounts as quoted decimal strings, e.g. "250.00"' })
  .refine((s) => (picosOrNull(s) ?? 1n) > 0n, { message: 'must be greater than 0' });

/** A model or attribution pattern: `*` matches any run of characters, everything else is literal. */
const Pattern = z.string().min(1).max(512);

/** An IANA time zone the runtime knows (`Europe/Berlin`, `UTC`). */
const TimeZone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not an IANA time zone (e.g. "UTC", "Europe/Berlin")' },
);

/** Budget and limit names appear in keys, headers and errors: kept to a plain, header-safe alphabet. */
const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, {
  message: 'use letters, digits and . _ : - (at most 100)',
});

/**
 * Which requests a budget or limit counts, by the caller's attribution. Every field given must match; `{}` is
 * everything. A value of exactly `*` means one budget per distinct value (`{ team: '*' }`: each team has its own);
 * any other value is a pattern counted as one shared budget (`{ model: '*opus*' }`: all Opus calls together).
 */
export const GatewayScope = z
  .object({
    team: Pattern.optional(),
    user: Pattern.optional(),
    /** The virtual key's id. */
    key: Pattern.optional(),
    feature: Pattern.optional(),
    project: Pattern.optional(),
    /** The model id as the client asked for it, e.g. `us.anthropic.claude-sonnet-4-5-20250929-v1:0`. */
    model: Pattern.optional(),
  })
  .strict();
export type GatewayScope = z.infer<typeof GatewayScope>;

/** One spending budget: a hard limit that blocks (or only warns) and an optional soft limit that alerts. */
export const GatewayBudget = z
  .object({
    /** Unique; named in errors, headers and `status()`. */
    name: Name,
    scope: GatewayScope.default({}),
    /** The hard limit per period, USD. */
    amountUsd: UsdAmount,
    period: z.enum(['daily', 'weekly', 'monthly']),
    /**
     * `calendar`: resets at local midnight / Monday 00:00 (ISO week) / the 1st, in `timezone`. `rolling`: the last
     * 24 h / 7 days / 30 days, in hourly buckets (spend leaves the window up to one hour late, never early).
     */
    window: z.enum(['calendar', 'rolling']).default('calendar'),
    /** For calendar periods. */
    timezone: TimeZone.default('UTC'),
    /** Soft limit as a percentage of `amountUsd` (at most 2 decimals); past it: warning header and downgrade. */
    softPercent: z
      .number()
      .gt(0)
      .lt(100)
      .refine((p) => Math.abs(p * 100 - Math.round(p * 100)) < 1e-9, {
        message: 'at most 2 decimals',
      })
      .optional(),
    /** Soft limit in USD, instead of `softPercent`. */
    softUsd: UsdAmount.optional(),
    /** Past the hard limit: `block` refuses with 429; `warn` only says so in a header (shadow mode). */
    onHard: z.enum(['block', 'warn']).default('block'),
  })
  .strict()
  .refine((b) => b.softPercent === undefined || b.softUsd === undefined, {
    message: 'give softPercent or softUsd, not both',
    path: ['softUsd'],
  })
  .refine(
    (b) => {
      const soft = picosOrNull(b.softUsd);
      const hard = picosOrNull(b.amountUsd);
      return soft === null || hard === null || soft < hard;
    },
    {
      message: 'softUsd must be below amountUsd',
      path: ['softUsd'],
    },
  );
export type GatewayBudget = z.infer<typeof GatewayBudget>;

/** Requests and tokens per minute (a sliding minute, in 1-second buckets). */
export const GatewayLimit = z
  .object({
    /** Named in 429 errors; defaults to `limits[<index>]`. */
    name: Name.optional(),
    scope: GatewayScope.default({}),
    rpm: z.number().int().positive().optional(),
    /** Counts the worst-case tokens at admission and the billed tokens once a call finishes. */
    tpm: z.number().int().positive().optional(),
  })
  .strict()
  .refine((l) => l.rpm !== undefined || l.tpm !== undefined, {
    message: 'a limit needs rpm or tpm',
  });
export type GatewayLimit = z.infer<typeof GatewayLimit>;

/** Models a team may call. Deny wins; with an allow list, only matching models pass. */
export const GatewayModelPolicy = z
  .object({
    allow: z.array(Pattern).min(1).optional(),
    deny: z.array(Pattern).min(1).optional(),
  })
  .strict();
export type GatewayModelPolicy = z.infer<typeof GatewayModelPolicy>;

/** Past a soft limit, calls to `from` go to the cheaper sibling `to` (stated in a response header). */
export const GatewayDowngrade = z
  .object({
    /** Pattern on the requested model id. */
    from: Pattern,
    /** The model id to call instead. */
    to: z.string().min(1),
    /** The only trigger so far: a matching budget is past its soft limit. */
    when: z.literal('soft').default('soft'),
  })
  .strict();
export type GatewayDowngrade = z.infer<typeof GatewayDowngrade>;

/** How the worst case reserved before forwarding is bounded (see governance/worst-case.ts). */
export const GatewayReservation = z
  .object({
    /** Output cap for calls that set none; the gateway sends it upstream so the bound holds. */
    defaultMaxOutputTokens: z.number().int().positive().default(4096),
    /** Tokens allowed per image block (Claude caps an image at ~1,600 tokens). */
    imageTokens: z.number().int().nonnegative().default(1600),
    /** Tokens the provider adds outside the body (system prompts for tools, role markers). */
    overheadTokens: z.number().int().nonnegative().default(1000),
    /** Input bound for calls with document or video blocks when the model's context window is unknown. */
    maxInputTokens: z.number().int().positive().default(1_000_000),
    /**
     * A reservation not settled or released this long after the call's last sign of life (admission; a stream still
     * sending renews it) is released (and counted in `expiredTickets`), so a lost call cannot hold budget forever.
     * Default: the gateway's upstream timeout plus one minute.
     */
    expireAfterMs: z.number().int().positive().optional(),
  })
  .strict();
export type GatewayReservation = z.infer<typeof GatewayReservation>;

/** The local append-only spool between the gateway and the store. */
export const GatewaySpool = z
  .object({
    /** Directory of segment files; one gateway process per directory (a lock file enforces it). */
    dir: z.string().min(1).default('.tokenledger-spool'),
    /**
     * Records per store write (a busier gateway writes sooner; a write may take up to a quarter more, rather than
     * leave a small remainder to a write of its own). Each write costs a fixed ~10 ms (DuckDB reads a file,
     * commits, syncs): at 500 that was ~40 µs per record, at 5000 ~15 µs. Each delivery also seals and rotates the
     * spool's segment: at 12k calls/s, 5,000 records set one off every 0.4 s, 20,000 every ~1.7 s (before
     * `deliverMs`, 20,000 measured 6 % more calls/s than 5,000: InvokeModel, two 45 s A/B pairs).
     */
    batchSize: z.number().int().positive().max(100_000).default(20_000),
    /** How often the spool's segment is fsynced: at most this much of the last records is lost to a power cut, ms. */
    flushMs: z.number().int().positive().max(600_000).default(1000),
    /**
     * Longest a record waits in the spool before it is written to the ledger, ms (sooner once `batchSize` wait): how
     * late reports see gateway calls. Apart from `flushMs`, so that a busy gateway writes the ledger in big batches
     * while its records are synced as often as ever.
     */
    deliverMs: z.number().int().positive().max(600_000).default(5000),
    /** While the store is down: keep serving (records wait in the spool) or refuse new calls with 503. */
    onStoreDown: z.enum(['serve', 'fail_closed']).default('serve'),
  })
  .strict();
export type GatewaySpool = z.infer<typeof GatewaySpool>;

/**
 * Where budget and rate-limit counters live. Without `redis`, in the gateway's memory: right for one gateway
 * process, wrong for several (each would allow the whole budget). With it, every replica pointed at the same Redis
 * shares them (each admission is one atomic script), and their virtual keys too (key-sync.ts).
 * `TOKENLEDGER_REDIS_URL` overrides `redis` (keep passwords out of the file).
 */
export const GatewayCounters = z
  .object({
    redis: z
      .string()
      .regex(/^rediss?:\/\//, { message: 'a redis:// or rediss:// URL' })
      .optional(),
    /** Prefix of every Redis key (on a Redis Cluster as a hash tag, `{tokenledger:}…`); fleets sharing a Redis differ. */
    prefix: z.string().min(1).default('tokenledger:'),
  })
  .strict();
export type GatewayCounters = z.infer<typeof GatewayCounters>;

/** Pattern keys of `models`: a team name, or `*` for every team (both apply when both are given). */
const TeamKey = z.string().min(1);

/** The whole `gateway:` section. */
export const gatewayConfigSchema = z
  .object({
    port: z.number().int().min(1).max(65_535).default(8790),
    upstream: z
      .object({
        /** Override of the Bedrock runtime endpoint (VPC endpoint, test double). */
        endpoint: z.url().optional(),
        /**
         * Override of the STS endpoint used to assume `roles` (VPC endpoint, test double); else
         * `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, else the SDK's regional endpoint.
         */
        stsEndpoint: z.url().optional(),
        /** Region of the upstream Bedrock runtime, e.g. `us-east-1`. */
        region: z
          .string()
          .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, { message: 'not an AWS Region' })
          .optional(),
        /**
         * Team → IAM role the gateway assumes for that team's calls, the session named after the caller's user, so
         * CloudTrail and CUR's IAM-principal allocation see the person. Other teams use the gateway's credentials.
         */
        roles: z
          .record(
            z.string().min(1),
            z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, {
              message: 'not an IAM role ARN',
            }),
          )
          .default({}),
      })
      .strict()
      .default({ roles: {} }),
    budgets: z
      .array(GatewayBudget)
      .default([])
      .refine((bs) => new Set(bs.map((b) => b.name)).size === bs.length, {
        message: 'budget names must be unique',
      }),
    limits: z
      .array(GatewayLimit)
      .default([])
      .refine(
        (ls) => {
          const named = ls.flatMap((l) => (l.name === undefined ? [] : [l.name]));
          return new Set(named).size === named.length;
        },
        { message: 'limit names must be unique' },
      ),
    /** Team (or `*`) → allowed / denied model patterns. */
    models: z.record(TeamKey, GatewayModelPolicy).default({}),
    /** First matching rule wins. */
    downgrade: z.array(GatewayDowngrade).default([]),
    reservation: GatewayReservation.default({
      defaultMaxOutputTokens: 4096,
      imageTokens: 1600,
      overheadTokens: 1000,
      maxInputTokens: 1_000_000,
    }),
    counters: GatewayCounters.default({ prefix: 'tokenledger:' }),
    spool: GatewaySpool.default({
      dir: '.tokenledger-spool',
      batchSize: 20_000,
      flushMs: 1000,
      deliverMs: 5000,
      onStoreDown: 'serve',
    }),
    /**
     * Serve HTTPS (HTTP/1.1 and h2 by ALPN) with this PEM certificate chain and private key, so that virtual keys
     * never cross the network in clear. Paths are relative to the configuration file. Without it, plain HTTP and
     * h2c (behind a load balancer that terminates TLS, or on localhost).
     */
    tls: z
      .object({ cert: z.string().min(1), key: z.string().min(1) })
      .strict()
      .optional(),
    /** Keep request and response bodies; off by default (bodies hold prompts and answers). */
    storeBodies: z.boolean().default(false),
    /**
     * Streams whose client left are read to their end (not passed on) so that their usage is exact: Bedrock bills
     * such a stream in full (LiteLLM users found the whole answer in CUR: BerriAI/litellm#34147). At most this many
     * at once; past it, or at 0, a stream is cut when its client leaves and the budget keeps its reservation.
     */
    drainClosedStreams: z.number().int().nonnegative().max(100_000).default(256),
  })
  .strict();

/** The validated `gateway:` section, defaults filled in. */
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
