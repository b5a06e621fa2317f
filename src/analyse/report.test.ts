import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnName, keysJson, toGroupKey } from './report.ts';

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
  // Telemetry dimensions and code-edit decision counters are taken too: `--by tool,meta:tool` keeps two columns.
  assert.equal(columnName('tool'), 'tool');
  assert.equal(columnName(toGroupKey('meta:tool')), 'meta:tool');
  assert.equal(columnName(toGroupKey('language')), 'meta:language');
  assert.equal(columnName(toGroupKey('accept_rate')), 'meta:accept_rate');
  assert.deepEqual(keysJson({ tool: 'Bash', 'meta:tool': 'claude-code', 'meta:ticket': null }), {
    tool: 'Bash',
    'meta:tool': 'claude-code',
    ticket: null,
  });
});
