/** Argument parsing shared by the commands (node:util parseArgs; unknown flags are usage errors). */
import { parseArgs } from 'node:util';
import { AppError } from '../core/index.ts';

export type Flags = Record<string, string | boolean | string[] | undefined>;

export interface FlagSpec {
  readonly [name: string]: { type: 'string' | 'boolean'; multiple?: boolean; short?: string };
}

export const COMMON_FLAGS = {
  db: { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies FlagSpec;

export function parse(
  argv: readonly string[],
  spec: FlagSpec,
): { flags: Flags; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { ...COMMON_FLAGS, ...spec },
      allowPositionals: true,
      strict: true,
    });
    return { flags: values as Flags, positionals };
  } catch (e: unknown) {
    throw new AppError('cli.usage', usageMessage(e as Error & { code?: string }));
  }
}

export function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function list(flags: Flags, name: string): string[] {
  const v = flags[name];
  if (Array.isArray(v)) return v;
  return typeof v === 'string' ? [v] : [];
}

export function int(flags: Flags, name: string, fallback: number): number {
  const v = str(flags, name);
  if (v === undefined) return fallback;
  const n = v.trim() === '' ? Number.NaN : Number(v);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new AppError('cli.usage', `--${name} expects a whole number, got ${v}`);
  return n;
}

/** parseArgs's messages, said the way the rest of the CLI says them (the unknown option first, then where to look). */
function usageMessage(e: Error & { code?: string }): string {
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(e.message)?.[1];
    if (option !== undefined) return `unknown option ${option} (see --help)`;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // "Option '--limit' argument is ambiguous…": a value that starts with '-'.
    const option = /'(--[^']+)'/.exec(e.message)?.[1];
    if (option !== undefined && /ambiguous/.test(e.message))
      return `${option} needs a value; a value that starts with '-' is written ${option}=VALUE`;
  }
  return e.message;
}
