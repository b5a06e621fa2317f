/** What every command gets: arguments, environment, output streams, a clock. Tests pass their own. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { openRuntime, type Runtime, type RuntimeOptions } from '../runtime.ts';

export { INGEST } from '../runtime.ts';

import { type Flags, str } from './args.ts';

export interface CliContext {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WriteStream;
  readonly now: () => number;
}

export { EXIT } from './exit.ts';

export function dbPath(ctx: CliContext, flags: Flags): string {
  return resolve(ctx.cwd, str(flags, 'db') ?? ctx.env.TOKENLEDGER_DB ?? 'tokenledger.duckdb');
}

/**
 * --config, else $TOKENLEDGER_CONFIG, else ./tokenledger.yaml, else the demo organisation's configuration beside the
 * ledger (what `npm start` ingested with), so that explain, prices and reprice see the same profiles as the ingest.
 */
export function configPath(ctx: CliContext, flags: Flags): string | undefined {
  const explicit = str(flags, 'config') ?? ctx.env.TOKENLEDGER_CONFIG;
  if (explicit !== undefined) return resolve(ctx.cwd, explicit);
  const local = resolve(ctx.cwd, 'tokenledger.yaml');
  if (existsSync(local)) return local;
  const demo = join(dirname(dbPath(ctx, flags)), DEMO_DIR, 'tokenledger.yaml');
  return existsSync(demo) ? demo : undefined;
}

/** Where `tokenledger demo` writes its logs and configuration, next to the database. */
export const DEMO_DIR = '.tokenledger-demo';

export async function withRuntime<T>(
  ctx: CliContext,
  flags: Flags,
  fn: (rt: Runtime) => Promise<T>,
  overrides: Partial<
    Pick<RuntimeOptions, 'configPath' | 'memoryLimit' | 'threads' | 'compactHeap'>
  > = {},
): Promise<T> {
  const rt = await openRuntime({
    ...overrides,
    db: dbPath(ctx, flags),
    configPath: overrides.configPath ?? configPath(ctx, flags),
    env: ctx.env,
  });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

export function print(ctx: CliContext, text: string): void {
  ctx.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
