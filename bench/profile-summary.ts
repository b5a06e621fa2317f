/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function and per file, top N.
 * Usage: `node --import tsx bench/profile-summary.ts FILE.cpuprofile [top]`; also used by run.ts `--profile`.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly functions: readonly { name: string; ms: number; pct: number }[];
  readonly files: readonly { file: string; ms: number; pct: number }[];
}

const shortUrl = (url: string): string => {
  if (url === '') return '(native)';
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith('node:')) return path;
  const nm = path.lastIndexOf('node_modules/');
  return nm >= 0 ? path.slice(nm + 'node_modules/'.length) : relative(process.cwd(), path);
};

export function summariseProfile(file: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (n === undefined) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const where = shortUrl(url);
    const name =
      `${functionName || '(anonymous)'}  ${url ? `${where}:${lineNumber + 1}` : ''}`.trim();
    fns.set(name, (fns.get(name) ?? 0) + us);
    files.set(where, (files.get(where) ?? 0) + us);
    total += us;
  }
  const rank = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ k, ms: us / 1000, pct: (100 * us) / total }));
  return {
    totalMs: total / 1000,
    functions: rank(fns).map(({ k, ms, pct }) => ({ name: k, ms, pct })),
    files: rank(files).map(({ k, ms, pct }) => ({ file: k, ms, pct })),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const row = (ms: number, pct: number, what: string) =>
    `${ms.toFixed(0).padStart(8)} ms ${pct.toFixed(1).padStart(5)} %  ${what}`;
  return [
    `CPU profile: ${s.totalMs.toFixed(0)} ms sampled (main thread only; DuckDB and zlib worker threads are not in it)`,
    'top functions by self time:',
    ...s.functions.map((f) => row(f.ms, f.pct, f.name)),
    'by file:',
    ...s.files.map((f) => row(f.ms, f.pct, f.file)),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top] = process.argv.slice(2);
  if (file === undefined) {
    console.error('usage: profile-summary.ts FILE.cpuprofile [top]');
    process.exit(2);
  }
  console.log(formatProfile(summariseProfile(file, Number(top ?? 25))));
}
