import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compileDowngrades,
  compileModelPolicy,
  compilePattern,
  compileScope,
  parseSuffix,
  scopeValues,
} from './policy.ts';

describe('patterns', () => {
  const cases: [string, string, boolean][] = [
    ['anthropic.claude-3-haiku-20240307-v1:0', 'anthropic.claude-3-haiku-20240307-v1:0', true],
    ['anthropic.claude-3-haiku-20240307-v1:0', 'us.anthropic.claude-3-haiku-20240307-v1:0', false],
    ['*claude-opus*', 'us.anthropic.claude-opus-4-5-20251101-v1:0', true],
    ['*claude-opus*', 'anthropic.claude-sonnet-4-5-20250929-v1:0', false],
    ['us.*', 'us.amazon.nova-pro-v1:0', true],
    ['us.*', 'eu.amazon.nova-pro-v1:0', false],
    // Regex characters are literal: `.` is a dot, `+` and `(` mean themselves.
    ['a.b', 'axb', false],
    ['c++(*)', 'c++(x)', true],
    ['*', '', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'acb', false],
  ];
  for (const [pattern, value, expected] of cases) {
    test(`${pattern} ~ ${value} → ${expected}`, () =>
      assert.equal(compilePattern(pattern)(value), expected));
  }
});

describe('scopes', () => {
  const values = scopeValues({ key: 'k1', team: 'search', user: 'ana b', model: 'm' });
  test('absent attribution is unallocated', () => {
    assert.equal(values.feature, 'unallocated');
    assert.equal(values.project, 'unallocated');
  });
  test('every given field must match; `{}` matches everything with one shared counter', () => {
    assert.equal(compileScope({}).match(values), '');
    assert.equal(compileScope({ team: 'search', model: 'm*' }).match(values), '');
    assert.equal(compileScope({ team: 'search', model: 'x*' }).match(values), null);
  });
  test('`*` gives one counter per value, with values encoded so keys are unambiguous', () => {
    const suffix = compileScope({ user: '*', team: '*' }).match(values);
    assert.equal(suffix, '|team=search|user=ana%20b');
    assert.deepEqual(parseSuffix(suffix ?? ''), { team: 'search', user: 'ana b' });
    const tricky = compileScope({ user: '*' }).match(scopeValues({ user: 'a|team=x' }));
    assert.deepEqual(parseSuffix(tricky ?? ''), { user: 'a|team=x' });
  });
});

describe('model policy', () => {
  test('no entries: everything passes', () => {
    assert.equal(compileModelPolicy({})('any', 'm'), null);
  });
  test('deny wins over allow within an entry', () => {
    const check = compileModelPolicy({ t: { allow: ['*claude*'], deny: ['*opus*'] } });
    assert.deepEqual(check('t', 'claude-opus'), {
      reason: 'denied',
      entry: 't',
      pattern: '*opus*',
    });
    assert.equal(check('t', 'claude-sonnet'), null);
    assert.deepEqual(check('t', 'nova'), { reason: 'not_allowed', entry: 't', pattern: null });
  });
  test('the `*` entry and the team entry must both pass', () => {
    const check = compileModelPolicy({ '*': { allow: ['*claude*'] }, t: { allow: ['*nova*'] } });
    assert.equal(check('t', 'nova')?.entry, '*');
    assert.equal(check('t', 'claude')?.entry, 't');
    assert.equal(check('other', 'claude'), null);
  });
});

describe('downgrades', () => {
  test('first matching rule wins; a model is never downgraded to itself', () => {
    const of = compileDowngrades([
      { from: '*opus*', to: 'sonnet', when: 'soft' },
      { from: '*', to: 'haiku', when: 'soft' },
    ]);
    assert.equal(of('x-opus-4')?.to, 'sonnet');
    assert.equal(of('sonnet')?.to, 'haiku');
    assert.equal(of('haiku'), null);
  });
});
