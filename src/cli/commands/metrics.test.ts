import assert from 'node:assert/strict';
import { test } from 'node:test';
import { percent } from './metrics.ts';

test('rates show as percentages, exactly (the decimal point moves two places)', () => {
  assert.deepEqual(['0.0020', '0.6920', '1.0000', '0.5', '0', '0.12345', null].map(percent), [
    '0.20%',
    '69.20%',
    '100.00%',
    '50%',
    '0%',
    '12.345%',
    '-',
  ]);
});
