/**
 * The ledger steps: build an N-row `usage` table straight in DuckDB (real schema via the store's migrate(), rows
 * from `range(N)` with realistic distributions, in time order as ingest would append them), then time the real
 * report path (`runReport` from src/analyse) on it.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { runReport } from '../src/analyse/index.ts';
import { openRuntime } from '../src/runtime.ts';
import { createDuckDbStore } from '../src/store/index.ts';
import type { StepResult } from './steps-ingest.ts';

export interface LedgerArgs {
  readonly db: string;
  readonly rows: number;
  /** The clock the ledger was built against; reports use the same one, so a cached ledger stays valid. */
  readonly now: number;
  readonly repeats?: number;
}

const DAY_MS = 86_400_000;
const DAYS = 90;
const CHUNK_ROWS = 2_000_000;
const TEAMS = [
  'platform',
  'search',
  'support-bot',
  'data-science',
  'growth',
  'mobile',
  'security',
  'finance-ai',
  'legal-ops',
  'ads',
  'infra',
  'research',
];
/** [foundation-model id, USD per 1M tokens: input, output, cache read, cache write]; null: unpriced. */
const MODELS: [string, number[] | null][] = [
  ['anthropic.claude-sonnet-4-5-20250929-v1:0', [3, 15, 0.3, 3.75]],
  ['anthropic.claude-haiku-4-5-20251001-v1:0', [1, 5, 0.1, 1.25]],
  ['anthropic.claude-sonnet-4-6', [3, 15, 0.3, 3.75]],
  ['amazon.nova-lite-v1:0', [0.06, 0.24, 0, 0]],
  ['amazon.nova-micro-v1:0', [0.035, 0.14, 0, 0]],
  ['anthropic.claude-opus-4-6-v1', [5, 25, 0.5, 6.25]],
  ['amazon.nova-pro-v1:0', [0.8, 3.2, 0, 0]],
  ['meta.llama3-3-70b-instruct-v1:0', [0.72, 0.72, 0, 0]],
  ['anthropic.claude-sonnet-4-20250514-v1:0', [3, 15, 0.3, 3.75]],
  ['openai.gpt-oss-120b-1:0', [0.15, 0.6, 0, 0]],
  ['anthropic.claude-3-5-haiku-20241022-v1:0', [0.8, 4, 0, 0]],
  ['mistral.mistral-large-2402-v1:0', [4, 12, 0, 0]],
  ['anthropic.claude-opus-4-7', [5, 25, 0.5, 6.25]],
  ['deepseek.r1-v1:0', [1.35, 5.4, 0, 0]],
  ['writer.palmyra-x5-v1:0', null],
];

const sqlList = (xs: readonly (string | number | null)[]) =>
  `[${xs.map((x) => (x === null ? 'NULL' : typeof x === 'number' ? `${x}::DOUBLE` : `'${x}'`)).join(', ')}]`;
const price = (k: number) => sqlList(MODELS.map(([, p]) => (p === null ? null : (p[k] as number))));

/** One chunk [lo, hi) of the ledger; every draw is a hash of the row number, so the ledger is deterministic. */
function insertSql(lo: number, hi: number, n: number, startMs: number): string {
  const r = (salt: number) => `(hash(i * 7919 + ${salt}) % 1000003)::DOUBLE / 1000003`;
  return `INSERT INTO usage BY NAME
  WITH d AS (
    SELECT i, ${r(1)} AS r1, ${r(2)} AS r2, ${r(3)} AS r3, ${r(4)} AS r4, ${r(5)} AS r5, ${r(6)} AS r6,
      (hash(i * 104729 + 7) >> 1)::BIGINT AS h
    FROM range(${lo}, ${hi}) t(i)
  ), k AS (
    SELECT *, floor(r1 * r1 * 300)::INTEGER AS u, floor(pow(r2, 1.6) * ${MODELS.length})::INTEGER + 1 AS m,
      floor(r5 * 10)::INTEGER AS form, ${startMs}::BIGINT + (i * ${DAYS * DAY_MS}::BIGINT) // ${n} AS ms,
      floor(exp(ln(20) + r3 * ln(1000)))::BIGINT AS tin, floor(exp(ln(5) + r4 * ln(400)))::BIGINT AS tout,
      CASE WHEN r6 < 0.5 THEN floor(r6 * 80000)::BIGINT ELSE 0 END AS tcr,
      CASE WHEN r6 < 0.2 THEN floor(r6 * 10000)::BIGINT ELSE 0 END AS tcw
    FROM d
  ), x AS (
    SELECT *, ${sqlList(MODELS.map(([id]) => id))}[m] AS base, ${sqlList(TEAMS)}[u % 12 + 1] AS team,
      ['111122223333', '444455556666', '777788889999'][u % 3 + 1] AS account,
      ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-northeast-1'][h % 4 + 1] AS region
    FROM k
  )
  SELECT printf('%08x-%04x-4%03x-a%03x-%012x', h >> 32, h & 65535, (h >> 16) & 4095, (h >> 4) & 4095,
      (hash(i) >> 1)::BIGINT & 281474976710655) AS request_id,
    epoch_ms(ms) AS ts, account, region,
    CASE WHEN form >= 3 AND form <> 8 THEN ['us-east-1', 'us-east-2', 'us-west-2'][h % 3 + 1] END AS inference_region,
    ['Converse', 'ConverseStream', 'InvokeModel', 'InvokeModelWithResponseStream'][(h >> 8) % 4 + 1] AS operation,
    CASE WHEN form < 3 THEN base WHEN form < 6 THEN 'us.' || base WHEN form < 8 THEN 'global.' || base
      WHEN form = 8 THEN 'arn:aws:bedrock:' || region || '::foundation-model/' || base
      ELSE 'arn:aws:bedrock:' || region || ':' || account || ':inference-profile/us.' || base END AS model_id,
    base AS model,
    CASE WHEN form >= 3 AND form <> 8 THEN (CASE WHEN form IN (6, 7) THEN 'global.' ELSE 'us.' END) || base END AS profile,
    CASE WHEN form IN (6, 7) THEN 'global' WHEN form >= 3 AND form <> 8 THEN 'geo' ELSE 'in-region' END AS scope,
    CASE WHEN form IN (3, 4, 5, 9) THEN 'us' END AS geo,
    CASE WHEN form < 3 THEN 'bare' WHEN form < 8 THEN 'profile-id' WHEN form = 8 THEN 'foundation-model-arn'
      ELSE 'inference-profile-arn' END AS model_form,
    'standard' AS tier, tin AS input_tokens, tout AS output_tokens, tcr AS cache_read_tokens,
    tcw AS cache_write_5m_tokens, 0::BIGINT AS cache_write_1h_tokens,
    (200 + tout * 12)::INTEGER AS latency_ms, (150 + h % 700)::INTEGER AS first_byte_ms,
    CASE WHEN h % 100 = 0 THEN 'ThrottlingException' END AS error_code,
    'arn:aws:sts::' || account || ':assumed-role/' || team || '-developer/user' || u || '@example.com' AS identity_arn,
    team, 'user' || u || '@example.com' AS "user",
    ['chat', 'summarise', 'classify', 'extract', 'rag-answer', 'agent-step'][(h >> 12) % 6 + 1] AS feature,
    team || '-main' AS project, ['production', 'production', 'staging', 'dev'][(h >> 20) % 4 + 1] AS environment,
    'cc-' || (u % 12 + 100) AS cost_center, 'unallocated' AS application, 'unallocated' AS session,
    '{"team":"' || team || '"}' AS metadata, '{"team":"metadata"}' AS attribution,
    CASE WHEN ${price(0)}[m] IS NOT NULL THEN (1e6 * (tin * ${price(0)}[m] + tout * ${price(1)}[m]
      + tcr * ${price(2)}[m] + tcw * ${price(3)}[m]))::BIGINT END AS cost_pusd,
    CASE WHEN ${price(0)}[m] IS NOT NULL THEN base || '/*/standard' END AS price_id,
    'bench' AS catalog_hash, '' AS flags, 'bench://ledger/' || (i // 10000) AS source,
    (i % 10000 + 1)::INTEGER AS source_line, epoch_ms(ms + 600000) AS ingested_at
  FROM x ORDER BY i`;
}

export async function buildLedger(a: LedgerArgs): Promise<StepResult> {
  const t0 = performance.now();
  const store = await createDuckDbStore({ path: a.db, memoryLimit: '512MB' });
  await store.migrate();
  await store.close();
  const instance = await DuckDBInstance.create(a.db, { threads: '2', memory_limit: '1GB' });
  const conn = await instance.connect();
  const startMs = a.now - DAYS * DAY_MS;
  for (let lo = 0; lo < a.rows; lo += CHUNK_ROWS) {
    await conn.run(insertSql(lo, Math.min(a.rows, lo + CHUNK_ROWS), a.rows, startMs));
  }
  await conn.run('CHECKPOINT');
  const [row] = (
    await conn.runAndReadAll(
      'SELECT count(*)::BIGINT AS n, min(ts)::VARCHAR AS lo, max(ts)::VARCHAR AS hi, count(DISTINCT team)::INTEGER AS teams, count(DISTINCT "user")::INTEGER AS users, count(DISTINCT model)::INTEGER AS models FROM usage',
    )
  ).getRowObjectsJS();
  conn.closeSync();
  instance.closeSync();
  return {
    seconds: (performance.now() - t0) / 1000,
    records: Number(row?.n ?? 0),
    ...row,
    n: String(row?.n),
  };
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)] as number;

/** Opens the ledger read-only through the runtime, as `tokenledger report` does, and times `runReport`. */
export async function timeReports(a: LedgerArgs): Promise<StepResult> {
  const rt = await openRuntime({
    db: a.db,
    configPath: undefined,
    env: process.env,
    readOnly: true,
  });
  const cases = {
    teamModelDay30d: { by: ['team', 'model', 'day'], since: '30d', where: [] },
    oneTeam7d: { by: ['day'], since: '7d', where: [`team=${TEAMS[3]}`] },
  };
  const out: Record<string, unknown> = {};
  let total = 0;
  for (const [name, req] of Object.entries(cases)) {
    const times: number[] = [];
    let rows = 0;
    let matched = 0;
    for (let i = 0; i < (a.repeats ?? 5); i++) {
      const t = performance.now();
      const report = await runReport(rt.store, req, a.now);
      times.push((performance.now() - t) / 1000);
      rows = report.rows.length;
      matched = report.total.requests;
    }
    total += times.reduce((s, x) => s + x, 0);
    out[name] = { median: median(times), first: times[0], times, rows, matched, request: req };
  }
  await rt.close();
  return { seconds: total, records: 0, ...out };
}

export const LEDGER_STEPS = { ledger: buildLedger, reports: timeReports } as const;
