/**
 * The known differences between what the demo organisation's logs show and what AWS bills and meters. Each is
 * deterministic, written to `demo-truth.json` with its amounts, and chosen so that the invocation logs stay
 * byte-identical to a demo without them: the extra traffic comes from its own PRNG streams, and the missing
 * hours are generated (and consume the main stream) but not written.
 */
import { parseUsd } from '../core/index.ts';
import { ACCOUNTS } from './organisation.ts';
import { DAY_MS, HOUR_MS } from './rhythm.ts';
import type { Workload } from './workloads.ts';

/** Negotiated Enterprise Discount Program: percent off every Usage line AWS itself bills (not AWS Marketplace). */
export const EDP_PERCENT = 6n;
/** One promotional credit on Amazon Bedrock, on the demo's last day. */
export const CREDIT_PICOS = parseUsd('-250.00');
/** Sales tax: percent of the period's AWS-billed Bedrock usage net of the EDP, rounded half up to the cent. */
export const TAX_PERCENT = 8n;

/** Logging was never turned on in this Region: its usage is billed and in CloudWatch, never in the logs. */
export const NO_LOGGING_REGION = 'eu-central-1';

/** Traffic in the Region without logging. Nova Pro is called at the priority tier (`+priority` in CloudWatch). */
export const UNLOGGED_WORKLOADS: readonly Workload[] = [
  {
    name: 'catalog-localisation',
    account: 'prod',
    region: NO_LOGGING_REGION,
    caller: { kind: 'task-role', role: 'catalog-localisation-worker' },
    share: 0.03,
    rhythm: 'office',
    shape: 'generate',
    models: [
      { model: 'haiku-4.5', via: 'eu', weight: 0.55, ops: { Converse: 0.6, ConverseStream: 0.4 } },
      { model: 'nova-pro', via: 'bare', weight: 0.45, ops: { Converse: 1 } },
    ],
    tagging: {
      rate: 0.9,
      tags: {
        team: 'growth',
        application: 'catalog-localisation',
        project: 'localisation',
        environment: 'production',
      },
      features: ['product-copy', 'translation'],
    },
  },
];
/** The unlogged calls of this model run at the priority tier. */
export const PRIORITY_MODEL = 'amazon.nova-pro-v1:0';

/** Three consecutive hours whose records are billed and metered but whose log files were never delivered. */
export interface MissingWindow {
  readonly account: string;
  readonly region: string;
  readonly fromMs: number;
  readonly toMs: number;
}
export const MISSING_HOURS = 3;
const MISSING_FROM_UTC_HOUR = 14;

/**
 * Claude Code in us-east-1 (sandbox account), 14:00–17:00 UTC (09:00–12:00 local) on the weekday nearest the
 * middle of the period; in a one-day period without such a window, three hours from its middle.
 */
export function missingWindow(startMs: number, endMs: number): MissingWindow {
  const where = { account: ACCOUNTS.sandbox, region: 'us-east-1' };
  const middle = (startMs + endMs) / 2;
  const candidates: number[] = [];
  for (let day = Math.floor(startMs / DAY_MS) * DAY_MS; day < endMs; day += DAY_MS) {
    const from = day + MISSING_FROM_UTC_HOUR * HOUR_MS;
    if (from >= startMs && from + MISSING_HOURS * HOUR_MS <= endMs) candidates.push(from);
  }
  const weekday = (ms: number) => ![0, 6].includes(new Date(ms).getUTCDay());
  const pool = candidates.some(weekday) ? candidates.filter(weekday) : candidates;
  const best = pool.reduce<number | null>(
    (b, c) => (b === null || Math.abs(c - middle) < Math.abs(b - middle) ? c : b),
    null,
  );
  const fromMs = best ?? Math.floor(middle / HOUR_MS) * HOUR_MS;
  return { ...where, fromMs, toMs: fromMs + MISSING_HOURS * HOUR_MS };
}

/** A batch inference job (CreateModelInvocationJob): billed with `-batch` usage types, never in invocation logs. */
export const BATCH_JOB = {
  account: ACCOUNTS.prod,
  region: 'us-east-1',
  modelId: 'amazon.nova-lite-v1:0',
  /** The job runs under the ETL role; its bill rows carry that principal. */
  role: 'BedrockBatchETL',
  inputTokens: [18_000_000, 42_000_000] as const,
  outputTokens: [1_500_000, 4_000_000] as const,
} as const;

/** The UTC days (start ms) a weekly batch job ran: Saturdays whose 04:00 UTC falls in the period, else the last day. */
export function batchDays(startMs: number, endMs: number): number[] {
  const days: number[] = [];
  for (let day = Math.floor(startMs / DAY_MS) * DAY_MS; day < endMs; day += DAY_MS) {
    const run = day + 4 * HOUR_MS;
    if (run >= startMs && run < endMs) days.push(day);
  }
  const saturdays = days.filter((d) => new Date(d).getUTCDay() === 6);
  const last = days.at(-1);
  return saturdays.length > 0 ? saturdays : last === undefined ? [] : [last];
}

/**
 * What AWS bills for models the catalog does not price (USD per 1M tokens). tokenledger leaves their records
 * unpriced; the bill is the truth. Writer Palmyra X5's published on-demand price.
 */
export const BILLED_ONLY_RATES: Readonly<Record<string, { input: string; output: string }>> = {
  'writer.palmyra-x5-v1:0': { input: '0.60', output: '6.00' },
};
