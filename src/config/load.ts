/** Reads the YAML config, expands `${env:NAME}`, validates it, and fails fast with the path of a bad key. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { AppError } from '../core/index.ts';
import { Config } from './schema.ts';

export function parseConfig(
  text: string,
  origin: string,
  env: Readonly<Record<string, string | undefined>>,
): Config {
  // Expanded outside the try: a missing variable is its own error, not "not valid YAML".
  const expanded = expandEnv(text, origin, env);
  let doc: unknown;
  try {
    doc = parse(expanded) ?? {};
  } catch (e: unknown) {
    throw new AppError('config.invalid', `${origin}: not valid YAML: ${String(e)}`, { cause: e });
  }
  const parsed = Config.safeParse(doc);
  if (!parsed.success) {
    const lines = parsed.error.issues.slice(0, 5).map((i) => {
      const path = i.path.map(String).join('.') || '(root)';
      // A bad record key is reported as "Invalid key in record"; the key schema's own message says why.
      const message = (i.code === 'invalid_key' ? i.issues[0]?.message : undefined) ?? i.message;
      return `  ${path}: ${message}`;
    });
    throw new AppError('config.invalid', `${origin}: invalid configuration\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export function loadConfig(
  path: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Config {
  if (path === undefined) return parseConfig('{}', '(defaults)', env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e: unknown) {
    throw new AppError('config.not_found', `cannot read config file ${path}`, { cause: e });
  }
  return parseConfig(text, path, env);
}

function expandEnv(
  text: string,
  origin: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  return text.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const value = env[name];
    if (value === undefined) {
      throw new AppError('config.invalid', `${origin}: environment variable ${name} is not set`);
    }
    return value;
  });
}
