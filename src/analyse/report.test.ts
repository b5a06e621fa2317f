import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnName, toGroupKey } from './report.ts';

test('columnName: a request-metadata key goes by the name it is asked for, meta:NAME only when that name means more', () => {
  // `--by ticket` is the metadata key "ticket": JSON and CSV call it ticket.
  assert.equal(toGroupKey('ticket'), 'meta:ticket');
  assert.equal(columnName(toGroupKey('ticket')), 'ticket');
  // `--by meta:model` is the metadata key "model", not the model dimension: it keeps its prefix.
  assert.equal(columnName(toGroupKey('meta:model')), 'meta:model');
  assert.equal(columnName('model'), 'model');
  // An alias (`app` is application) and a counter (`requests`) are not metadata keys of those names.
  assert.equal(columnName('meta:app'), 'meta:app');
  assert.equal(columnName(toGroupKey('requests')), 'meta:requests');
  assert.equal(columnName(toGroupKey('cost_usd')), 'meta:cost_usd');
});
