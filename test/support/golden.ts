/**
 * Golden files: compare output with a reviewed file, or rewrite it when UPDATE_GOLDEN=1 (refused when CI=true).
 * JSON goldens are pretty-printed with sorted keys; bigints become decimal strings.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

function sortKeys(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(obj)
        .sort()
        .filter((k) => obj[k] !== undefined)
        .map((k) => [k, sortKeys(obj[k])]),
    );
  }
  return value;
}

export function toGoldenJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

export function assertGolden(path: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === '1') {
    if (process.env.CI === 'true') throw new Error('refusing to update golden files in CI');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) {
    assert.fail(`golden file ${path} is missing: run UPDATE_GOLDEN=1 npm test and review it`);
  }
  assert.equal(
    actual,
    readFileSync(path, 'utf8'),
    `output differs from ${path} (UPDATE_GOLDEN=1 to accept)`,
  );
}
