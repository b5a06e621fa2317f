/**
 * The composition root: configuration → the objects every command works with. The only place (with cli/) that
 * knows every module; nothing here reads argv.
 */

import { dirname, resolve } from 'node:path';
import type { Attributor } from './attribute/index.ts';
import { createAttributor } from './attribute/index.ts';
import { type Config, loadConfig } from './config/index.ts';
import { compactOldGeneration } from './core/index.ts';
import type { Normaliser } from './normalise/index.ts';
import { createNormaliser } from './normalise/index.ts';
import {
  type Catalog,
  defaultCatalogDir,
  loadCatalogDir,
  loadOverrides,
  NO_OVERRIDES,
} from './price/index.ts';
import {
  createLazyCloudWatchLogsObjectStore,
  createLazyS3ObjectStore,
  createLocalObjectStore,
  createObjectStore,
  type ObjectStore,
} from './sources/index.ts';
import { createDuckDbStore, type Store } from './store/index.ts';

/**
 * The settings of a run that reads logs into the ledger (`ingest`, `demo`), whose peak memory must not grow with its
 * input: a small DuckDB memory limit (`memoryLimit`), one DuckDB thread per connection (the bulk path keeps two
 * statements running at once, one group staging while the previous commits, and two one-thread statements beat two
 * two-thread ones on two cores: measured 5.2 s vs 6.5 s wall, 5.8 s vs 8.7 s CPU for 100k records), and a compact
 * JS heap (`compactHeap`). The limit: 1M records ingest under 170 MB (160 MB ran out; the bulk insert then retries
 * its uncommitted files more slowly), and each 20 MB less is ~20 MB less peak RSS (1M records: 375–377 MB at 180 MB,
 * 391–402 MB at 200 MB).
 */
export const INGEST = { memoryLimit: '180MB', threads: 1, compactHeap: true } as const;
/**
 * DuckDB threads for the servers (`gateway`, `serve`): their store work is a batch of calls every second or so, which
 * a second DuckDB thread did not speed up; it only contended for the cores with the event loop (measured with the
 * encoder thread the gateway had then; gateway benchmark, InvokeModel at 32 concurrent calls on 2 cores, three A/B
 * pairs: 104–127 vs 117–142 µs of CPU per call, 8.5–10.4k vs 7.7–9.5k calls/s).
 */
export const SERVER_THREADS = 1;

export interface RuntimeOptions {
  readonly db: string;
  readonly configPath: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly readOnly?: boolean;
  /**
   * DuckDB's memory limit. Ingest runs with a small one (INGEST: peak RSS stays near flat as input grows, at the
   * same speed as with 512MB, which measured 563/902 MB at 100k/1M records); reports with a larger one.
   * $TOKENLEDGER_DUCKDB_MEMORY overrides both.
   */
  readonly memoryLimit?: string;
  /** DuckDB threads per connection (default 2). */
  readonly threads?: number;
  /** A batch job's old generation (core/heap.ts compactOldGeneration), for the whole process. */
  readonly compactHeap?: boolean;
}

/** What a runtime's configuration, pricing and attribution are built from (`openPricing`). */
export interface RuntimeOrigin {
  readonly configPath: string | undefined;
  readonly env: NodeJS.ProcessEnv;
}

/** Configuration, catalog, normaliser and attributor: everything that turns a RawUsage into a ledger record. */
export interface Pricing {
  readonly config: Config;
  readonly catalog: Catalog;
  readonly normaliser: Normaliser;
  readonly attributor: Attributor;
}

export interface Runtime extends Pricing {
  readonly origin: RuntimeOrigin;
  readonly store: Store;
  readonly objects: ObjectStore;
  close(): Promise<void>;
}

/**
 * The catalog (shipped or `prices.catalogDir`) with the user's `prices.overrides`, validated. `withOverrides: false`
 * gives the list-price catalog alone (what a Price List import is compared with).
 */
export function loadPricing(
  config: Config,
  configPath: string | undefined,
  { withOverrides = true }: { withOverrides?: boolean } = {},
): Catalog {
  const base = configPath === undefined ? process.cwd() : dirname(resolve(configPath));
  const { catalogDir, overrides } = config.prices;
  return loadCatalogDir(
    catalogDir === undefined ? defaultCatalogDir() : resolve(base, catalogDir),
    overrides === undefined || !withOverrides
      ? NO_OVERRIDES
      : loadOverrides(resolve(base, overrides)),
  );
}

/** Configuration, catalog (with overrides), normaliser and attributor, as `openRuntime` builds them. */
export function openPricing(origin: RuntimeOrigin): Pricing {
  const config = loadConfig(origin.configPath, origin.env);
  const profiles = new Map(Object.entries(config.inferenceProfiles));
  return {
    config,
    catalog: loadPricing(config, origin.configPath),
    normaliser: createNormaliser((arn) => profiles.get(arn)),
    attributor: createAttributor(config.attribution),
  };
}

/** `TOKENLEDGER_LOW_MEMORY=1` (or `true`): DuckDB hands large frees back to the system at once (DuckDbStoreOptions.lowMemory). */
const isOn = (v: string | undefined): boolean =>
  v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());

export async function openRuntime(opts: RuntimeOptions): Promise<Runtime> {
  if (opts.compactHeap) compactOldGeneration();
  const pricing = openPricing(opts);
  const store = await createDuckDbStore({
    path: opts.db,
    ...(opts.readOnly ? { readOnly: true } : {}),
    memoryLimit: opts.env.TOKENLEDGER_DUCKDB_MEMORY ?? opts.memoryLimit ?? '1GB',
    ...(isOn(opts.env.TOKENLEDGER_LOW_MEMORY) ? { lowMemory: true } : {}),
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
  });
  if (!opts.readOnly) await store.migrate();
  return {
    ...pricing,
    origin: { configPath: opts.configPath, env: opts.env },
    store,
    objects: createObjectStore({
      local: createLocalObjectStore(),
      s3: () => createLazyS3ObjectStore(opts.env),
      cwlogs: () => createLazyCloudWatchLogsObjectStore(opts.env),
    }),
    close: () => store.close(),
  };
}
