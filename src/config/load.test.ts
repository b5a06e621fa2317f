import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AppError } from '../core/index.ts';
import { gatewayConfigSchema } from '../gateway/index.ts';
import { loadConfig, parseConfig } from './load.ts';

const testdata = (name: string): string => join(import.meta.dirname, 'testdata', name);
/** A `${env:NAME}` reference (built, so no plain string literal holds a placeholder). */
const envRef = (name: string): string => `\${env:${name}}`;
const ENV = { TL_CATALOG_DIR: '/opt/tokenledger/catalog' };

const DEFAULTS = {
  inferenceProfiles: {},
  attribution: { metadataKeys: {}, rules: [], userFromIdentity: true },
  prices: {},
  /** The gateway section's own defaults (tested in src/gateway/config.test.ts). */
  gateway: gatewayConfigSchema.parse({}),
  otlp: {},
};

/** Asserts that loading fails with `config.invalid` and a message containing every fragment. */
function assertInvalid(file: string, ...fragments: string[]): void {
  assert.throws(
    () => loadConfig(testdata(file), ENV),
    (e: unknown) => {
      assert.ok(e instanceof AppError, `expected AppError, got ${String(e)}`);
      assert.equal(e.code, 'config.invalid');
      assert.ok(e.message.startsWith(testdata(file)), `message names the file: ${e.message}`);
      for (const f of fragments) assert.ok(e.message.includes(f), `"${f}" not in: ${e.message}`);
      return true;
    },
  );
}

describe('loadConfig', () => {
  test('a valid configuration, with defaults filled in and env references expanded', () => {
    const config = loadConfig(testdata('valid.yaml'), ENV);
    assert.deepEqual(config, {
      inferenceProfiles: {
        'arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5f6': {
          model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
          tags: { team: 'search', application: 'chat' },
        },
        'arn:aws-us-gov:bedrock:us-gov-west-1:111122223333:application-inference-profile/g0v000000001':
          { model: 'anthropic.claude-3-haiku-20240307-v1:0', tags: {} },
      },
      attribution: {
        metadataKeys: { cost_center: ['cc', 'costcentre'] },
        rules: [
          {
            name: 'sso',
            match: { role: '^AWSReservedSSO_(?<team>[A-Za-z]+)_' },
            set: { team: '$<team>' },
          },
          {
            match: { account: '^111122223333$', sessionName: '^i-' },
            set: { environment: 'prod', feature: 'batch-jobs' },
          },
        ],
        userFromIdentity: false,
      },
      prices: { catalogDir: '/opt/tokenledger/catalog' },
      gateway: DEFAULTS.gateway,
      otlp: {},
    });
  });

  test('a typo in a top-level key fails and names the key (config_typo.yaml)', () => {
    assertInvalid('config_typo.yaml', '(root)', 'atribution');
  });

  test('a typo in a nested key fails with its path', () => {
    assertInvalid('config_nested_typo.yaml', 'attribution.rules.0', 'sett');
  });

  test('a bad regular expression fails with its path', () => {
    assertInvalid(
      'bad_regex.yaml',
      'attribution.rules.0.match.role',
      'not a valid regular expression',
    );
  });

  test('an inferenceProfiles key that is not an application-inference-profile ARN fails', () => {
    assertInvalid(
      'non_aip_key.yaml',
      'inferenceProfiles.arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.',
      'keys must be application-inference-profile ARNs',
    );
  });

  test('a missing environment variable fails and names it', () => {
    assertInvalid('env_missing.yaml', 'environment variable TL_DOES_NOT_EXIST is not set');
    assert.throws(
      () => loadConfig(testdata('env_missing.yaml'), ENV),
      (e: unknown) => e instanceof Error && !e.message.includes('not valid YAML'),
    );
  });

  test('invalid YAML fails as config.invalid', () => {
    // Inline rather than a testdata file, so that Biome does not lint a file that is broken on purpose.
    assert.throws(
      () => parseConfig('attribution: [unclosed\n', 'broken.yaml', {}),
      (e: unknown) =>
        e instanceof AppError &&
        e.code === 'config.invalid' &&
        e.message.startsWith('broken.yaml: not valid YAML'),
    );
  });

  test('an empty file is all defaults', () => {
    assert.deepEqual(loadConfig(testdata('empty.yaml'), ENV), DEFAULTS);
    assert.deepEqual(loadConfig(testdata('comments_only.yaml'), ENV), DEFAULTS);
  });

  test('no file is all defaults', () => {
    assert.deepEqual(loadConfig(undefined, {}), DEFAULTS);
  });

  test('a file that does not exist is config.not_found', () => {
    assert.throws(
      () => loadConfig(testdata('does-not-exist.yaml'), ENV),
      (e: unknown) => e instanceof AppError && e.code === 'config.not_found',
    );
  });
});

describe('parseConfig', () => {
  test('expands every env reference, reading only the env it is given', () => {
    const text = `prices:\n  catalogDir: ${envRef('A')}/${envRef('B_2')}\n`;
    const config = parseConfig(text, 'inline', {
      A: '/x',
      B_2: 'y',
    });
    assert.equal(config.prices.catalogDir, '/x/y');
  });

  test('a value that merely looks like $env is left alone', () => {
    const config = parseConfig('prices:\n  catalogDir: $env:A\n', 'inline', {});
    assert.equal(config.prices.catalogDir, '$env:A');
  });

  test('wrong types fail with the path', () => {
    assert.throws(
      () => parseConfig('attribution:\n  userFromIdentity: "yes"\n', 'inline', {}),
      /attribution\.userFromIdentity/,
    );
  });

  test('a rule with no condition fails', () => {
    assert.throws(
      () =>
        parseConfig(
          'attribution:\n  rules:\n    - match: {}\n      set: {team: x}\n',
          'inline',
          {},
        ),
      /at least one field/,
    );
  });

  test('a rule setting an unknown dimension fails', () => {
    assert.throws(
      () =>
        parseConfig(
          'attribution:\n  rules:\n    - match: {role: x}\n      set: {squad: x}\n',
          'inline',
          {},
        ),
      /attribution\.rules\.0\.set/,
    );
  });
});
