import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bypassesProxy, proxyFor } from './proxy.ts';

const S3 = 'https://s3.us-east-1.amazonaws.com';
const href = (u: URL | null) => u?.href ?? null;

describe('proxy from the environment', () => {
  test('https targets take HTTPS_PROXY, else HTTP_PROXY; http targets only HTTP_PROXY; lower case wins', () => {
    assert.equal(proxyFor(S3, {}), null);
    assert.equal(href(proxyFor(S3, { HTTPS_PROXY: 'http://p:3128' })), 'http://p:3128/');
    assert.equal(href(proxyFor(S3, { HTTP_PROXY: 'http://h:8080' })), 'http://h:8080/');
    assert.equal(
      href(proxyFor(S3, { HTTPS_PROXY: 'http://up:1', https_proxy: 'http://low:2' })),
      'http://low:2/',
    );
    assert.equal(proxyFor('http://127.0.0.1:9000', { HTTPS_PROXY: 'http://p:3128' }), null);
    assert.equal(
      href(proxyFor('http://10.0.0.5:9000', { http_proxy: 'p.corp:3128' })),
      'http://p.corp:3128/',
      'a bare host:port is an http proxy',
    );
    assert.equal(proxyFor(S3, { HTTPS_PROXY: '' }), null, 'empty is unset');
  });

  test('NO_PROXY: domains with their subdomains, ports, IPs, *', () => {
    const no = (target: string, list: string) => bypassesProxy(new URL(target), { NO_PROXY: list });
    assert.equal(no(S3, 'amazonaws.com'), true);
    assert.equal(no(S3, '.amazonaws.com'), true);
    assert.equal(no(S3, '*.amazonaws.com'), true);
    assert.equal(no(S3, 'zonaws.com'), false, 'a suffix must be a whole label');
    assert.equal(no(S3, 'localhost, s3.us-east-1.amazonaws.com:443'), true);
    assert.equal(no(S3, 's3.us-east-1.amazonaws.com:8443'), false, 'another port');
    assert.equal(no('http://127.0.0.1:4566', '127.0.0.1'), true);
    assert.equal(no('http://[::1]:4566', '::1'), true);
    assert.equal(no('http://[::1]:4566', '[::1]:4566'), true);
    assert.equal(no('http://[::1]:4566', '[::1]:80'), false);
    assert.equal(no(S3, '*'), true);
    assert.equal(no(S3, 'S3.US-EAST-1.AMAZONAWS.COM'), true, 'case does not matter');
    assert.equal(proxyFor(S3, { HTTPS_PROXY: 'http://p:3128', no_proxy: 'amazonaws.com' }), null);
  });
});
