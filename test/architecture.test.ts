/**
 * The import matrix (conventions §5.2), executed: every `import … from` in src/ (test code and testdata exempt) must
 * follow an allowed module edge and, across modules, go through the target module's `index.ts`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

const ANYTHING = '*';
/** Module → the other modules it may import. A module may always import itself, node: builtins and packages. */
const MATRIX: Readonly<Record<string, readonly string[]>> = {
  core: [],
  config: ['core', 'attribute', 'gateway'],
  sources: ['core'],
  normalise: ['core'],
  price: ['core'],
  attribute: ['core'],
  store: ['core'],
  demo: ['core', 'normalise', 'price'],
  pipeline: ['core', 'normalise', 'price', 'attribute', 'store', 'sources'],
  analyse: ['core', 'store'],
  gateway: ['core'],
  cli: [ANYTHING],
  runtime: [ANYTHING],
};

/** Test code: unit tests, contract suites (run by each implementation's test) and fixtures. */
function isExempt(relPath: string): boolean {
  return (
    relPath.endsWith('.test.ts') ||
    relPath.endsWith('.contract.ts') ||
    relPath.split('/').includes('testdata')
  );
}

/** `src/price/catalog.ts` → `price`; `src/runtime.ts` → `runtime`. Paths are relative to the repository, `/`-separated. */
function moduleOf(relPath: string): string | null {
  const parts = relPath.split('/');
  if (parts[0] !== 'src' || parts.length < 2) return null;
  if (parts.length === 2) return (parts[1] ?? '').replace(/\.ts$/, '');
  return parts[1] ?? null;
}

/** The public entry file of a module. */
function entryOf(module: string): string {
  return module === 'runtime' ? 'src/runtime.ts' : `src/${module}/index.ts`;
}

/** Module specifiers of static imports/re-exports, side-effect imports and dynamic imports, comments ignored. */
function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  const patterns = [
    /(?:^|[;\s}])(?:import|export)\s[^'"`;]*?\bfrom\s*(['"])([^'"]+)\1/g,
    /(?:^|[;\s])import\s*(['"])([^'"]+)\1/g,
    /\bimport\(\s*(['"])([^'"]+)\1\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) found.push(m[2] ?? '');
  return found;
}

interface Edge {
  readonly file: string;
  readonly specifier: string;
  readonly problem: string;
}

/** Checks one file's imports against the matrix; returns the offending edges. */
function check(file: string, source: string): Edge[] {
  const from = moduleOf(file);
  if (from === null) return [{ file, specifier: '', problem: 'not under src/' }];
  const allowed = MATRIX[from];
  if (allowed === undefined) {
    return [{ file, specifier: '', problem: `module "${from}" is not in the import matrix` }];
  }
  const bad: Edge[] = [];
  for (const specifier of importsOf(source)) {
    if (!specifier.startsWith('.') && !specifier.startsWith('/')) continue; // node: builtin or package
    const target = relative(ROOT, resolve(ROOT, dirname(file), specifier))
      .split(sep)
      .join('/');
    const to = moduleOf(target);
    if (to === null) {
      bad.push({ file, specifier, problem: `imports ${target}, outside src/` });
      continue;
    }
    if (to === from) continue;
    if (!allowed.includes(ANYTHING) && !allowed.includes(to)) {
      bad.push({ file, specifier, problem: `${from} → ${to} is not allowed` });
      continue;
    }
    if (target !== entryOf(to)) {
      bad.push({ file, specifier, problem: `${from} → ${to} must go through ${entryOf(to)}` });
    }
  }
  return bad;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts')) out.push(relative(ROOT, path).split(sep).join('/'));
  }
  return out.sort();
}

describe('architecture', () => {
  const files = sourceFiles(SRC).filter((f) => !isExempt(f));

  test('every import in src/ follows the import matrix and goes through index.ts', () => {
    const bad = files.flatMap((f) => check(f, readFileSync(join(ROOT, f), 'utf8')));
    const report = bad.map((e) => `  ${e.file}: '${e.specifier}' — ${e.problem}`).join('\n');
    assert.equal(bad.length, 0, `${bad.length} import(s) break the module boundaries:\n${report}`);
  });

  test('the scan sees the real edges (it is not passing vacuously)', () => {
    assert.ok(files.length > 20, `${files.length} files`);
    const edges = new Set<string>();
    for (const f of files) {
      for (const s of importsOf(readFileSync(join(ROOT, f), 'utf8'))) {
        if (!s.startsWith('.')) continue;
        const to = moduleOf(
          relative(ROOT, resolve(ROOT, dirname(f), s))
            .split(sep)
            .join('/'),
        );
        edges.add(`${moduleOf(f)}→${to}`);
      }
    }
    for (const e of ['price→core', 'normalise→core', 'config→attribute', 'runtime→price']) {
      assert.ok(edges.has(e), `expected edge ${e} in ${[...edges].sort().join(', ')}`);
    }
  });
});

describe('architecture checker', () => {
  test('moduleOf', () => {
    assert.equal(moduleOf('src/price/catalog.ts'), 'price');
    assert.equal(moduleOf('src/sources/invocation-logs/parse.ts'), 'sources');
    assert.equal(moduleOf('src/runtime.ts'), 'runtime');
    assert.equal(moduleOf('test/support/golden.ts'), null);
  });

  test('importsOf reads every import form and ignores comments', () => {
    const source = [
      "import assert from 'node:assert/strict';",
      "import type { A } from '../core/index.ts';",
      'import {',
      '  b,',
      '  type C,',
      "} from './b.ts';",
      "export * from './c.ts';",
      'export { d } from "./d.ts";',
      "import './side-effect.ts';",
      "const e = await import('./e.ts');",
      "// import { x } from '../commented/out.ts';",
      "/* import { y } from '../also/commented.ts'; */",
      "const s = 'import from nothing';",
    ].join('\n');
    assert.deepEqual(importsOf(source).sort(), [
      '../core/index.ts',
      './b.ts',
      './c.ts',
      './d.ts',
      './e.ts',
      './side-effect.ts',
      'node:assert/strict',
    ]);
  });

  const cases: [string, string, string, RegExp | null][] = [
    [
      'own module internals',
      'src/price/price-record.ts',
      "import { x } from './catalog.ts';",
      null,
    ],
    [
      'allowed edge via index',
      'src/price/catalog.ts',
      "import { x } from '../core/index.ts';",
      null,
    ],
    [
      'packages and builtins',
      'src/core/money.ts',
      "import { z } from 'zod';\nimport fs from 'node:fs';",
      null,
    ],
    [
      'config → attribute',
      'src/config/schema.ts',
      "import { A } from '../attribute/index.ts';",
      null,
    ],
    [
      'pipeline → sources',
      'src/pipeline/ingest.ts',
      "import { s } from '../sources/index.ts';",
      null,
    ],
    ['cli → anything', 'src/cli/commands/x.ts', "import { r } from '../../runtime.ts';", null],
    [
      'core → price',
      'src/core/money.ts',
      "import { x } from '../price/index.ts';",
      /core → price is not allowed/,
    ],
    [
      'price → normalise',
      'src/price/x.ts',
      "import type { N } from '../normalise/index.ts';",
      /price → normalise/,
    ],
    [
      'analyse → price',
      'src/analyse/r.ts',
      "export * from '../price/index.ts';",
      /analyse → price/,
    ],
    [
      'demo → pipeline',
      'src/demo/g.ts',
      "const p = await import('../pipeline/index.ts');",
      /demo → pipeline/,
    ],
    [
      'internal file',
      'src/pipeline/ingest.ts',
      "import { c } from '../price/catalog.ts';",
      /must go through src\/price\/index.ts/,
    ],
    [
      'internal file from cli',
      'src/cli/main.ts',
      "import { c } from '../store/duckdb/store.ts';",
      /must go through src\/store\/index.ts/,
    ],
    [
      'outside src',
      'src/store/s.ts',
      "import { m } from '../../test/support/records.ts';",
      /outside src/,
    ],
    [
      'unknown module',
      'src/alert/route.ts',
      "import { x } from '../core/index.ts';",
      /not in the import matrix/,
    ],
  ];
  for (const [name, file, source, problem] of cases) {
    test(name, () => {
      const bad = check(file, source);
      if (problem === null) assert.deepEqual(bad, []);
      else {
        assert.equal(bad.length, 1, JSON.stringify(bad));
        assert.match(bad[0]?.problem ?? '', problem);
      }
    });
  }
});
