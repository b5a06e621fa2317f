import { join } from 'node:path';
import { after } from 'node:test';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { describeStoreContract } from '../store.contract.ts';
import { createDuckDbStore } from './store.ts';

describeStoreContract('duckdb in memory', () => createDuckDbStore({ path: ':memory:' }));

const dir = tempDir();
after(() => dir.remove());
let n = 0;
describeStoreContract('duckdb file', () =>
  createDuckDbStore({ path: join(dir.path, `ledger-${n++}.duckdb`) }),
);
