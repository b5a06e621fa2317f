/**
 * CloudWatch metrics into the ledger: saved files (the file form of src/sources/cloudwatch) or a live fetch through
 * the MetricsSource port. Datapoints are keyed by series and period start, so re-ingesting is a no-op.
 */
import type { Reject } from '../core/index.ts';
import {
  type MetricPoint,
  type MetricReject,
  type MetricsFetchOptions,
  type MetricsSource,
  type ObjectStore,
  parseMetricData,
} from '../sources/index.ts';
import type { MetricRow, Store } from '../store/index.ts';

export interface MetricsIngestSummary {
  readonly files: number;
  readonly points: number;
  readonly written: number;
  readonly rejects: readonly Reject[];
}

const toRow = (p: MetricPoint, source: string): MetricRow => ({
  region: p.region,
  account: p.account ?? '',
  namespace: p.namespace,
  metric: p.metric,
  modelId: p.modelId ?? '',
  tier: p.tier,
  stat: p.stat,
  periodSeconds: p.periodSeconds,
  at: p.at,
  value: p.value,
  source,
});

const toReject = (r: MetricReject): Reject => ({
  source: { uri: r.source, line: r.line },
  reason: r.reason,
  excerpt: '',
});

async function text(objects: ObjectStore, uri: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await objects.read(uri)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function ingestMetricFiles(
  deps: { readonly store: Store; readonly objects: ObjectStore },
  paths: readonly string[],
  defaults: { readonly region?: string; readonly account?: string },
): Promise<MetricsIngestSummary> {
  let files = 0;
  let points = 0;
  let written = 0;
  const rejects: Reject[] = [];
  for (const path of paths) {
    for await (const o of deps.objects.list(path)) {
      if (!/\.(json|jsonl|ndjson)$/i.test(o.uri)) continue;
      files++;
      const parsed = parseMetricData(await text(deps.objects, o.uri), o.uri, defaults);
      points += parsed.points.length;
      rejects.push(...parsed.rejects.map(toReject));
      written += (await deps.store.metrics.write(parsed.points.map((p) => toRow(p, o.uri))))
        .written;
    }
  }
  return { files, points, written, rejects };
}

/** A live fetch; `document` is the file form of what was fetched, to save for offline use. */
export async function fetchMetrics(
  deps: { readonly store: Store },
  source: MetricsSource,
  options: MetricsFetchOptions,
): Promise<MetricsIngestSummary & { readonly document: unknown }> {
  const result = await source.fetch(options);
  const origin = `cloudwatch:${options.region}`;
  const { written } = await deps.store.metrics.write(result.points.map((p) => toRow(p, origin)));
  return {
    files: 0,
    points: result.points.length,
    written,
    rejects: result.rejects.map(toReject),
    document: result.document,
  };
}
