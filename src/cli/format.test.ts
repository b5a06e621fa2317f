/** Tables people read: one line per row whatever the values hold. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderTable } from './format.ts';

test('a value with a newline, a tab or an escape character stays on its row, shown escaped', () => {
  const out = renderTable(
    ['FEATURE', 'COST'],
    [
      ['line1\nline2', '$1.00'],
      ['a\tb\u001b[31m', '$2.00'],
    ],
    [false, true],
  );
  const lines = out.split('\n');
  assert.equal(lines.length, 4, out);
  assert.match(lines[2] ?? '', /^line1\\nline2 +\$1\.00$/);
  assert.match(lines[3] ?? '', /^a\\tb\\u001b\[31m +\$2\.00$/);
});
