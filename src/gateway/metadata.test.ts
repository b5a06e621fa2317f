/** Request metadata into a Converse body: written in without re-serialising the caller's bytes when it can be. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withRequestMetadata } from './metadata.ts';

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
