/** The DuckDB Reconciler. */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { AppError, type Limiter } from '../../core/index.ts';
import { periodBounds, type ReconcileData, type Reconciler } from '../store.ts';
import {
  ALLOCATE_SQL,
  ALLOCATED_SQL,
  CLEAR_ALLOCATION_SQL,
  COMPARE_SQL,
  EXTRA_SQL,
  GROUPS_SQL,
  OTHER_LINES_SQL,
  PERIODS_SQL,
  QUIET_HOURS_SQL,
  TOTALS_SQL,
  ZERO_TOKEN_BILLED_SQL,
} from './reconcile.sql.ts';
import { inTransaction } from './transaction.ts';

/**
 * The statements name $1 period, $2 start, $3 end; DuckDB wants exactly the parameters a statement uses, numbered
 * from 1, so each is renumbered to the ones it uses.
 */
function bind(sql: string, all: readonly DuckDBValue[]): { sql: string; params: DuckDBValue[] } {
  const used = [...new Set([...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])))].sort(
    (a, b) => a - b,
  );
  const to = new Map(used.map((n, i) => [n, i + 1]));
  return {
    sql: sql.replace(/\$(\d+)/g, (_, n: string) => `$${to.get(Number(n))}`),
    params: used.map((n) => all[n - 1] as DuckDBValue),
  };
}

export function createReconciler(conn: DuckDBConnection, transactions: Limiter): Reconciler {
  const big = (v: unknown) => (v === null || v === undefined ? 0n : BigInt(v as bigint));
  return {
    async periods() {
      return (await conn.runAndReadAll(PERIODS_SQL))
        .getRowObjectsJS()
        .map((r) => String(r.billing_period));
    },

    async reconcile(period, { allocate }): Promise<ReconcileData> {
      const bounds = periodBounds(period);
      if (bounds === null)
        throw new AppError('cli.usage', `--month expects YYYY-MM, got ${period}`);
      const sql = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
      const [start, end] = [sql(bounds.fromMs), sql(bounds.toMs)];
      const all: DuckDBValue[] = [period, start, end];
      const run = (sql: string) => {
        const b = bind(sql, all);
        return conn.run(b.sql, b.params);
      };
      const rows = async (sql: string) => {
        const b = bind(sql, all);
        return (await conn.runAndReadAll(b.sql, b.params)).getRowObjectsJS();
      };
      try {
        for (const sql of GROUPS_SQL) await run(sql);
        const [t] = await rows(TOTALS_SQL);
        const groups = (await rows(COMPARE_SQL)).map((r) => ({
          account: String(r.account),
          region: String(r.region),
          model: String(r.model),
          scope: String(r.scope),
          tier: String(r.tier),
          billedUsage: big(r.billed_usage_pusd),
          discount: big(r.discount_pusd),
          estimated: big(r.est_pusd),
          records: Number(r.records),
          billedTokens: r.billed_tokens === null ? null : big(r.billed_tokens),
          loggedTokens: big(r.logged_tokens),
          billed1hTokens: big(r.billed_1h_tokens),
          logged1hTokens: big(r.logged_1h_tokens),
          ttlUnknown: Number(r.ttl_unknown),
          unpriced: Number(r.unpriced),
          daysBilledNotLogged: Number(r.days_billed_not_logged),
          daysLoggedNotBilled: Number(r.days_logged_not_billed),
          shortDays: ((r.short_days as string[] | null) ?? []).map(String),
        }));
        const other = (await rows(OTHER_LINES_SQL)).map((r) => ({
          lineItemType: String(r.line_item_type),
          classification: String(r.classification),
          usageType: String(r.usage_type),
          reason: String(r.reason),
          description: String(r.description),
          firstDay: (r.first_day as Date).getTime(),
          lines: Number(r.lines),
          amount: big(r.pusd),
        }));
        const quietHours = (await rows(QUIET_HOURS_SQL)).map((r) => ({
          account: String(r.account),
          region: String(r.region),
          hour: (r.hour as Date).getTime(),
        }));
        let allocation: ReconcileData['allocation'] = null;
        if (allocate) {
          // Taking its turn with the store's other writers on this connection (store.ts).
          await transactions(() =>
            inTransaction(conn, async () => {
              for (const sql of CLEAR_ALLOCATION_SQL) await run(sql);
              await run(ALLOCATE_SQL);
              await run(ZERO_TOKEN_BILLED_SQL);
              await run(EXTRA_SQL);
            }),
          );
          const [a] = await rows(ALLOCATED_SQL);
          allocation = {
            toRecords: big(a?.records_pusd),
            records: Number(a?.records ?? 0),
            periodRecords: Number(a?.period_records ?? 0),
            billedOnly: big(a?.extra_pusd),
          };
        }
        return {
          period,
          payer: t?.payer === null || t?.payer === undefined ? null : String(t.payer),
          totals: {
            usage: big(t?.usage_pusd),
            discount: big(t?.discount_pusd),
            credit: big(t?.credit_pusd),
            tax: big(t?.tax_pusd),
            total: big(t?.total_pusd),
          },
          groups,
          other,
          quietHours,
          allocation,
        };
      } catch (e: unknown) {
        if (e instanceof AppError) throw e;
        throw new AppError('store.query_failed', `reconciliation failed: ${(e as Error).message}`, {
          cause: e,
        });
      }
    },
  };
}
