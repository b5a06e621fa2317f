/** Request metadata into a Converse body: written in without re-serialising the caller's bytes when it can be. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newKey } from './keys.ts';
import { buildMetadata, withRequestMetadata } from './metadata.ts';

const md = { team: 'search', gateway_key: 'k1' };
const inject = (text: string) =>
  withRequestMetadata(
    Buffer.from(text),
    JSON.parse(text) as Record<string, unknown>,
    md,
  ).toString();

test('a body without requestMetadata keeps its own bytes after the field written in', () => {
  const body =
    ' \n{ "messages" : [ {"role":"user","content":[{"text":"héllo {x}"}]} ],\n "inferenceConfig":{"maxTokens":10} }';
  const out = inject(body);
  assert.equal(
    out,
    `{"requestMetadata":${JSON.stringify(md)},${body.slice(body.indexOf('{') + 1)}`,
  );
  assert.deepEqual(JSON.parse(out), { requestMetadata: md, ...JSON.parse(body) });
});

test('an empty object gets the field alone', () => {
  assert.equal(inject('{}'), `{"requestMetadata":${JSON.stringify(md)}}`);
  assert.deepEqual(JSON.parse(inject(' { } ')), { requestMetadata: md });
});

test('a body that has requestMetadata (even null) is serialised again with it replaced, never twice', () => {
  for (const sent of ['{"team":"other","x":"1"}', 'null']) {
    const out = inject(`{"messages":[],"requestMetadata":${sent}}`);
    assert.equal(out.match(/requestMetadata/g)?.length, 1);
    assert.deepEqual(JSON.parse(out), { messages: [], requestMetadata: md });
  }
});

test("buildMetadata: a key's entries are made once and never changed by a call that adds to them", () => {
  const key = newKey(
    {
      name: 'k',
      team: 'search',
      user: 'ana@example.com',
      feature: null,
      project: null,
      environment: 'prod',
    },
    0,
    null,
  ).key;
  const plain = buildMetadata(key, null, null);
  assert.equal(
    buildMetadata(key, null, null),
    plain,
    'the same object for a call that adds nothing',
  );
  assert.equal(buildMetadata(key, { n: 1 }, ''), plain, 'non-string caller values add nothing');
  const withMore = buildMetadata(key, { team: 'other', ticket: 'T-1' }, 'sess-1');
  assert.deepEqual(withMore, { ...plain, session: 'sess-1', ticket: 'T-1' });
  assert.deepEqual(plain, {
    team: 'search',
    user: 'ana@example.com',
    environment: 'prod',
    gateway_key: key.id,
  });
  assert.ok(Object.isFrozen(plain));
  // 16 entries at most: the key's 4, the session, then the caller's first 11.
  const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, `v${i}`]));
  const full = buildMetadata(key, many, 's');
  assert.equal(Object.keys(full).length, 16);
  assert.equal(full.k10, 'v10');
  assert.equal(full.k11, undefined);
});

test('buildMetadata: Unicode spaces are replaced like any character Bedrock refuses; no caller key is lost to Object.prototype', () => {
  const key = newKey(
    { name: 'k', team: 't', user: null, feature: null, project: null, environment: null },
    0,
    null,
  ).key;
  const md = buildMetadata(
    key,
    { ticket: 'a\u00a0b\u2028c\u3000d e\tf', constructor: 'x', toString: 'y' },
    null,
  );
  assert.equal(md.ticket, 'a_b_c_d e\tf');
  assert.equal(Object.hasOwn(md, 'constructor') && md.constructor, 'x');
  assert.equal(Object.hasOwn(md, 'toString') && md.toString, 'y');
});
