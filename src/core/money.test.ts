import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatUsd,
  formatUsdHuman,
  PICOS_PER_USD,
  parseUsd,
  parseUsdPerMillion,
  scaleExact,
} from './money.ts';

describe('parseUsd', () => {
  const cases: [string, bigint][] = [
    ['0', 0n],
    ['0.0', 0n],
    ['-0', 0n],
    ['1', PICOS_PER_USD],
    ['3.75', 3_750_000_000_000n],
    ['0.00875', 8_750_000_000n],
    ['-2.5', -2_500_000_000_000n],
    ['0.000000000001', 1n], // 12 decimals: one pico-USD
    ['123456789.123456789012', 123_456_789_123_456_789_012n],
    ['  1.50 ', 1_500_000_000_000n], // surrounding whitespace is trimmed
    ['007', 7n * PICOS_PER_USD],
    ['99999999999999999999', 99_999_999_999_999_999_999n * PICOS_PER_USD], // beyond 2^53, still exact
  ];
  for (const [text, picos] of cases) {
    test(`${JSON.stringify(text)} → ${picos}`, () => assert.equal(parseUsd(text), picos));
  }

  const rejected = [
    '0.0000000000001', // 13 decimals
    '1.1000000000000', // 13 decimals even though the last ones are zeros
    '',
    '.5',
    '1.',
    '+1',
    '1e3',
    '1,000.00',
    '$1',
    '0x10',
    'NaN',
    '1.2.3',
    '- 1',
  ];
  for (const text of rejected) {
    test(`rejects ${JSON.stringify(text)}`, () => assert.throws(() => parseUsd(text), RangeError));
  }
});

describe('parseUsdPerMillion', () => {
  const cases: [string, bigint][] = [
    // $0.00875 / 1M tokens = 0.00875e-6 USD/token = 8.75e-9 USD = 8 750 pico-USD per token
    ['0.00875', 8_750n],
    ['3.00', 3_000_000n],
    ['3.30', 3_300_000n],
    ['4.125', 4_125_000n],
    ['1.375', 1_375_000n],
    ['0.000001', 1n], // the finest exact rate: 6 decimals
    ['3.2375', 3_237_500n],
    ['0', 0n],
    ['75', 75_000_000n],
  ];
  for (const [text, perToken] of cases) {
    test(`$${text}/1M → ${perToken} pico per token`, () =>
      assert.equal(parseUsdPerMillion(text), perToken));
  }

  test('the per-token rate times 1M tokens is the published price', () => {
    for (const [text] of cases) {
      assert.equal(parseUsdPerMillion(text) * 1_000_000n, parseUsd(text));
    }
  });

  for (const text of ['0.0000001', '0.1234567', '3.0000005']) {
    test(`refuses ${text} (more than 6 decimals per 1M)`, () =>
      assert.throws(() => parseUsdPerMillion(text), /more than 6 decimals/));
  }

  test('trailing zeros past 6 decimals are accepted (the value is what counts)', () => {
    assert.equal(parseUsdPerMillion('0.0000010'), 1n);
  });

  test('refuses what parseUsd refuses', () => {
    assert.throws(() => parseUsdPerMillion('3,30'), RangeError);
  });
});

describe('scaleExact', () => {
  const cases: [bigint, string, bigint][] = [
    [3_000_000n, '1.10', 3_300_000n], // regional premium
    [15_000_000n, '1.10', 16_500_000n],
    [3_750_000n, '1.10', 4_125_000n],
    [3_300_000n, '2', 6_600_000n], // long context input, after the premium
    [16_500_000n, '1.5', 24_750_000n], // long context output, after the premium
    [8_750n, '1.10', 9_625n],
    [1_000_000n, '0.5', 500_000n],
    [1_000_000n, '1.75', 1_750_000n],
    [123n, '1', 123n],
    [123n, '0', 0n],
    [0n, '1.10', 0n],
    [-3_000_000n, '1.10', -3_300_000n],
  ];
  for (const [amount, factor, expected] of cases) {
    test(`${amount} × ${factor} = ${expected}`, () =>
      assert.equal(scaleExact(amount, factor), expected));
  }

  test('refuses a result that is not a whole pico', () => {
    assert.throws(() => scaleExact(1n, '0.5'), /not a whole pico-USD/);
    assert.throws(() => scaleExact(5n, '1.10'), /not a whole pico-USD/);
  });

  test('refuses negative and malformed factors', () => {
    for (const f of ['-1.10', '', 'x', '1e2', '.5']) {
      assert.throws(() => scaleExact(100n, f), RangeError, f);
    }
  });
});

describe('formatUsd', () => {
  const cases: [bigint, string][] = [
    [0n, '0.00'],
    [1n, '0.000000000001'],
    [PICOS_PER_USD, '1.00'],
    [1_500_000_000_000n, '1.50'],
    [4_600_000_000n, '0.0046'],
    [123_456_789_012n, '0.123456789012'],
    [-1_500_000_000_000n, '-1.50'],
    [-1n, '-0.000000000001'],
    [10_000_000_000n, '0.01'],
    [1_234_567n * PICOS_PER_USD, '1234567.00'],
  ];
  for (const [picos, text] of cases) {
    test(`${picos} → ${text}`, () => assert.equal(formatUsd(picos), text));
  }

  test('round-trips through parseUsd for any value', () => {
    for (const picos of [0n, 1n, -7n, 999_999_999_999n, 3_300_000_000_000n, 10n ** 30n + 17n]) {
      assert.equal(parseUsd(formatUsd(picos)), picos);
    }
  });
});

describe('formatUsdHuman', () => {
  const cases: [string, string][] = [
    ['0', '$0.00'],
    ['1.234', '$1.23'],
    ['1.235', '$1.24'], // half up
    ['1.2349999', '$1.23'],
    ['0.995', '$1.00'],
    ['0.01', '$0.01'], // a cent exactly is not "under a cent"
    ['1234.567', '$1,234.57'],
    ['1234567.891', '$1,234,567.89'],
    ['999.995', '$1,000.00'],
    ['100', '$100.00'],
    // under a cent: micro-USD precision so that small costs do not read as $0.00
    ['0.0046', '$0.004600'],
    ['0.0046004999', '$0.004600'],
    ['0.0046005', '$0.004601'], // half up at the micro-USD
    ['0.00999949', '$0.009999'],
    ['0.0099995', '$0.010000'], // rounds up to a cent but keeps the small-amount shape
    ['0.00000049', '$0.000000'], // below half a micro-USD
    ['0.0000005', '$0.000001'],
    ['-0.0046', '-$0.004600'],
    ['-1234.565', '-$1,234.57'], // negative amounts round half away from zero
  ];
  for (const [usd, text] of cases) {
    test(`${usd} → ${text}`, () => assert.equal(formatUsdHuman(parseUsd(usd)), text));
  }
});

describe('exactness (property)', () => {
  // Real catalog rates (USD per 1M tokens): Sonnet 4.5 regional input/output, Nova Micro cache read and input,
  // Haiku 4.5 regional 5m cache write, Sonnet 4.5 regional long-context output, DeepSeek V3.2 priority output.
  const RATES = ['3.30', '16.50', '0.00875', '0.035', '1.375', '24.75', '3.2375'].map(
    parseUsdPerMillion,
  );
  const RECORDS = 10_000_000;

  test(`${RECORDS.toLocaleString('en')} per-record costs sum to the cost of the summed tokens`, () => {
    // xorshift32: deterministic and cheap, so the loop measures bigint arithmetic, not the generator.
    let seed = 0x2545f491;
    const next = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    const tokensPerRate = RATES.map(() => 0n);
    let sumOfRecordCosts = 0n;
    for (let i = 0; i < RECORDS; i++) {
      const r = next() % RATES.length;
      const tokens = next() % 250_000; // up to a long-context request
      const rate = RATES[r] ?? 0n;
      sumOfRecordCosts += BigInt(tokens) * rate;
      tokensPerRate[r] = (tokensPerRate[r] ?? 0n) + BigInt(tokens);
    }
    let costOfSums = 0n;
    for (const [r, rate] of RATES.entries()) costOfSums += (tokensPerRate[r] ?? 0n) * rate;
    assert.equal(sumOfRecordCosts, costOfSums);
    assert.ok(sumOfRecordCosts > Number.MAX_SAFE_INTEGER, 'the total exceeds 2^53 picos');
    // And the decimal string round-trips, so the total leaves the program exactly.
    assert.equal(parseUsd(formatUsd(sumOfRecordCosts)), sumOfRecordCosts);
  });
});
