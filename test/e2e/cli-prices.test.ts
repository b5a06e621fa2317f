/**
 * The price commands as a user runs them: list, show, check, missing, import, and reprice after adding an
 * overrides file (golden files in test/e2e/golden/prices-*.txt).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../support/cli.ts';
import { assertGolden } from '../support/golden.ts';
import { tempDir } from '../support/temp-dir.ts';

const testdata = join(
  import.meta.dirname,
  '..',
  '..',
  'src',
  'sources',
  'invocation-logs',
  'testdata',
);
const priceList = join(import.meta.dirname, '..', '..', 'src', 'price', 'testdata', 'price-list');
const golden = (name: string) => join(import.meta.dirname, 'golden', name);
const tmp = tempDir();
after(() => tmp.remove());

function cli(config: string, ...argv: string[]) {
  return runCli(argv, {
    env: { TOKENLEDGER_DB: join(tmp.path, 'ledger.duckdb'), TOKENLEDGER_CONFIG: config },
    cwd: tmp.path,
    now: Date.parse('2026-03-05T12:00:00Z'),
    placeholders: { [tmp.path]: '<tmp>', [testdata]: '<testdata>' },
  });
}

describe('tokenledger prices and reprice', () => {
  const plain = join(testdata, 'tokenledger.yaml');
  const withOverrides = join(tmp.path, 'tokenledger.yaml');

  before(async () => {
    mkdirSync(join(tmp.path, 'logs'));
    for (const f of ['operations.jsonl', 'global-profile-arn-offloaded.jsonl'])
      copyFileSync(join(testdata, f), join(tmp.path, 'logs', f));
    copyFileSync(
      join(import.meta.dirname, 'testdata', 'overrides.json'),
      join(tmp.path, 'overrides.json'),
    );
    writeFileSync(
      withOverrides,
      `${readFileSync(plain, 'utf8')}\nprices:\n  overrides: overrides.json\n`,
    );
    const r = await cli(plain, 'ingest', join(tmp.path, 'logs'));
    assert.equal(r.code, 0, r.err);
  });

  test('list: entries in force on a date, filtered', async () => {
    const r = await cli(plain, 'prices', 'list', '--model', 'nova', '--at', '2026-03-01');
    assert.equal(r.code, 0, r.err);
    assertGolden(golden('prices-list-nova.txt'), r.out);
    const json = JSON.parse((await cli(plain, 'prices', 'list', '--format', 'json')).out);
    assert.ok(json.entries.length > 50);
  });

  test('show: every entry of a model and what each scope pays, from any id form', async () => {
    const r = await cli(plain, 'prices', 'show', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0');
    assert.equal(r.code, 0, r.err);
    assertGolden(golden('prices-show-sonnet-4-5.txt'), r.out);
    const unknown = await cli(plain, 'prices', 'show', 'writer.palmyra-x5-v1:0');
    assert.match(unknown.out, /No catalog entry/);
  });

  test('check: the shipped catalog is consistent; a broken overrides file names itself', async () => {
    const r = await cli(plain, 'prices', 'check');
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(
      r.out,
      /^catalog [0-9a-f]{16}: \d+ entries over 8 vendors; overrides: 0 entries, 0 discounts/,
    );
    const ok = await cli(withOverrides, 'prices', 'check');
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /overrides: 1 entries, 1 discounts/);

    const badConfig = join(tmp.path, 'bad.yaml');
    writeFileSync(
      join(tmp.path, 'bad.json'),
      JSON.stringify({ discounts: [{ id: 'x', percent: '150', effectiveFrom: '2026-01-01' }] }),
    );
    writeFileSync(badConfig, 'prices:\n  overrides: bad.json\n');
    const bad = await cli(badConfig, 'prices', 'check');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /<tmp>\/bad\.json: discounts\.0\.percent: /);
    // Every command validates at start, not only check.
    assert.equal((await cli(badConfig, 'report')).code, 1);
  });

  test('missing → overrides → reprice → nothing missing; reprice twice changes nothing', async () => {
    const missing = await cli(plain, 'prices', 'missing');
    assertGolden(golden('prices-missing.txt'), missing.out);

    const dry = await cli(withOverrides, 'reprice', '--dry-run');
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /^Would re-price 12 records/);
    const r = await cli(withOverrides, 'reprice');
    assert.equal(r.code, 0, r.err);
    assertGolden(
      golden('prices-reprice.txt'),
      r.out.replace(/catalog [0-9a-f]{16}/, 'catalog <hash>'),
    );
    const again = await cli(withOverrides, 'reprice', '--json');
    assert.equal(JSON.parse(again.out).changed, 0);

    assert.equal(
      (await cli(withOverrides, 'prices', 'missing')).out,
      'Every record in the ledger has a price.\n',
    );
    const report = await cli(withOverrides, 'report', '--format', 'json');
    for (const row of JSON.parse(report.out)) assert.equal(row.unpriced_requests, 0);

    const explain = await cli(withOverrides, 'explain', '0b7c2a1e-0001-4000-8000-000000000002');
    assertGolden(golden('prices-explain-discounted.txt'), explain.out);
  });

  test('import: proposals from saved Price List files, written as a catalog file for review', async () => {
    const files = ['amazonbedrock-offer.json', 'foundationmodels-getproducts.json'].map((f) =>
      join(priceList, f),
    );
    const out = join(tmp.path, 'proposed.json');
    const r = await cli(plain, 'prices', 'import', ...files, '--today', '2026-03-05', '--out', out);
    assert.equal(r.code, 0, r.err);
    const written = JSON.parse(readFileSync(out, 'utf8'));
    assert.ok(written.entries.length > 0);
    assert.match(r.out, new RegExp(`Wrote ${written.entries.length} proposed entries`));
    const notJson = join(tmp.path, 'not.json');
    writeFileSync(notJson, '{"hello": 1}');
    const bad = await cli(plain, 'prices', 'import', notJson);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /not\.json/);
  });
});
