import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { tempDir } from '../../test/support/temp-dir.ts';
import type { RawUsage } from '../core/index.ts';
import { encodeLine } from '../gateway/index.ts';
import { ledgerRecord } from '../pipeline/index.ts';
import { openRuntime } from '../runtime.ts';
import { createLedgerEncoder } from './ledger-encoder.ts';

const dir = tempDir('tl-encoder-');
after(() => dir.remove());

/** A metadata alias only this configuration knows: the worker must load the same configuration as the runtime. */
const CONFIG = `attribution:
  metadataKeys:
    team: [squad]
`;

const raw = (id: string): RawUsage => ({
  requestId: id,
  occurredAt: Date.parse('2026-11-20T10:00:00Z'),
  accountId: '111122223333',
  region: 'us-east-1',
  inferenceRegion: null,
  operation: 'InvokeModel',
  modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
  identityArn: null,
  requestMetadata: { user: 'ana@example.com', squad: 'payments' },
  tokens: { input: 1200, output: 340, cacheRead: 5000, cacheWrite5m: 0, cacheWrite1h: 800 },
  cacheTtlKnown: true,
  tier: 'standard',
  latencyMs: 900,
  firstByteMs: null,
  errorCode: null,
  source: { uri: 'gateway', line: 0 },
});

/** Spool lines as a segment holds them: newline-terminated bytes. */
const lines = (...ls: string[]) => Buffer.from(ls.map((l) => `${l}\n`).join(''));

describe('ledger encoder (worker thread)', () => {
  test('spool lines become the rows the runtime itself would write: same price, same attribution', async () => {
    const config = join(dir.path, 'tokenledger.yaml');
    writeFileSync(config, CONFIG);
    const rt = await openRuntime({ db: join(dir.path, 'a.duckdb'), configPath: config, env: {} });
    const encoder = createLedgerEncoder(rt.origin);
    try {
      const file = join(dir.path, 'batch.ndjson');
      const { encoded, unreadable } = await encoder.encode(
        lines(encodeLine(raw('r1')), '', '{"r":{"requestId":', encodeLine(raw('r2'))),
        file,
      );
      assert.equal(unreadable.length, 1);
      assert.equal(unreadable[0]?.index, 1);
      assert.deepEqual({ records: encoded.records, rows: encoded.rows }, { records: 2, rows: 2 });
      assert.deepEqual(await rt.store.writeEncodedUsage(encoded), {
        inserted: 2,
        duplicates: 0,
        rejects: 0,
      });
      const stored = await rt.store.getRecord('r1');
      const expected = ledgerRecord(rt, raw('r1'));
      assert.ok(expected.cost.picos !== null && expected.cost.picos > 0n);
      assert.equal(BigInt(String(stored?.cost_pusd)), expected.cost.picos);
      assert.equal(stored?.price_id, expected.cost.priceId);
      assert.equal(stored?.team, 'payments', 'the configured rule applied');
      assert.equal(stored?.user, 'ana@example.com');
    } finally {
      await encoder.close();
      await rt.close();
    }
  });

  test('a batch that cannot be written fails alone; the next one is encoded', async () => {
    const encoder = createLedgerEncoder({ configPath: undefined, env: {} });
    try {
      await assert.rejects(
        encoder.encode(lines(encodeLine(raw('x'))), join(dir.path, 'missing-dir', 'batch.ndjson')),
        /ledger encoder: .*ENOENT/,
      );
      const file = join(dir.path, 'ok.ndjson');
      const { encoded } = await encoder.encode(lines(encodeLine(raw('y'))), file);
      assert.equal(encoded.rows, 1);
      assert.ok(existsSync(file));
    } finally {
      await encoder.close();
    }
  });

  test('a closed encoder fails what was in flight and every later batch', async () => {
    const encoder = createLedgerEncoder({ configPath: undefined, env: {} });
    const pending = encoder.encode(lines(encodeLine(raw('z'))), join(dir.path, 'z.ndjson'));
    await encoder.close();
    await assert.rejects(pending, /closed|exited/);
    await assert.rejects(encoder.encode(lines(), join(dir.path, 'w.ndjson')), /closed/);
  });
});
