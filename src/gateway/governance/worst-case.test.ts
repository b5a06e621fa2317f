import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseUsdPerMillion } from '../../core/index.ts';
import { worstCaseCost, worstCaseTokens } from './worst-case.ts';

const POLICY = {
  defaultMaxOutputTokens: 4096,
  imageTokens: 1600,
  overheadTokens: 1000,
  maxInputTokens: 1_000_000,
};

describe('worst case', () => {
  test('text: body bytes + overhead; output: the call’s own limit', () => {
    assert.deepEqual(worstCaseTokens({ bodyBytes: 2000, maxOutputTokens: 512 }, POLICY), {
      input: 3000,
      output: 512,
      capOutputTo: null,
    });
  });
  test('no output limit: the default, which the gateway must send upstream', () => {
    assert.deepEqual(worstCaseTokens({ bodyBytes: 10 }, POLICY), {
      input: 1010,
      output: 4096,
      capOutputTo: 4096,
    });
  });
  test('images add their cap; the context window bounds the input', () => {
    assert.equal(worstCaseTokens({ bodyBytes: 100, imageBlocks: 2 }, POLICY).input, 4300);
    assert.equal(
      worstCaseTokens({ bodyBytes: 5_000_000, contextWindowTokens: 200_000 }, POLICY).input,
      200_000,
    );
  });
  test('documents and video: bounded by the context window, else maxInputTokens', () => {
    assert.equal(worstCaseTokens({ bodyBytes: 300, otherMediaBlocks: 1 }, POLICY).input, 1_000_000);
    assert.equal(
      worstCaseTokens({ bodyBytes: 300, otherMediaBlocks: 1, contextWindowTokens: 200_000 }, POLICY)
        .input,
      200_000,
    );
  });
  test('cost at the dearest input rate and the output rate, exact in pico-USD', () => {
    const tokens = worstCaseTokens({ bodyBytes: 9000, maxOutputTokens: 1000 }, POLICY);
    const cost = worstCaseCost(tokens, {
      inputPicosPerToken: parseUsdPerMillion('6.00'), // Sonnet 4.5 1-hour cache write
      outputPicosPerToken: parseUsdPerMillion('15.00'),
    });
    assert.equal(cost, 10_000n * 6_000_000n + 1000n * 15_000_000n); // $0.06 + $0.015
  });
});
