/**
 * Outbound HTTP proxies from the environment, as curl, the AWS CLI and undici read them: `https_proxy` /
 * `HTTPS_PROXY` for https targets (else the http proxy), `http_proxy` / `HTTP_PROXY` for http targets, and
 * `no_proxy` / `NO_PROXY` for the hosts reached directly. Lower case wins; an empty value counts as unset.
 *
 * NO_PROXY: entries separated by commas or spaces; `*` alone means no proxy at all; an entry matches its host and
 * every subdomain (`amazonaws.com`, `.amazonaws.com` and `*.amazonaws.com` all match `s3.us-east-1.amazonaws.com`),
 * with `:port` only that port; IP addresses match exactly (no CIDR ranges).
 */

import type { Agent } from 'node:http';

/** What an AWS SDK v3 client takes as `requestHandler` to make its default (Node) handler with these agents. */
export interface AwsRequestHandler {
  readonly httpAgent: Agent;
  readonly httpsAgent: Agent;
}

const pick = (env: NodeJS.ProcessEnv, ...names: string[]): string | undefined => {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
};

const defaultPort = (protocol: string): string => (protocol === 'https:' ? '443' : '80');

/** True when NO_PROXY says `target` is reached directly. */
export function bypassesProxy(target: URL, env: NodeJS.ProcessEnv): boolean {
  const list = pick(env, 'no_proxy', 'NO_PROXY');
  if (list === undefined) return false;
  const host = target.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = target.port || defaultPort(target.protocol);
  for (const raw of list.split(/[\s,]+/)) {
    if (raw === '') continue;
    if (raw === '*') return true;
    let entry = raw.toLowerCase();
    let entryPort: string | null = null;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed !== null) {
      entry = bracketed[1] as string;
      entryPort = bracketed[2] ?? null;
    } else {
      const colon = entry.lastIndexOf(':');
      // host:port, but not a bare IPv6 address (several colons)
      if (colon > 0 && entry.indexOf(':') === colon && /^\d+$/.test(entry.slice(colon + 1))) {
        entryPort = entry.slice(colon + 1);
        entry = entry.slice(0, colon);
      }
    }
    entry = entry.replace(/^\*?\./, '');
    if (entryPort !== null && entryPort !== port) continue;
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

/** The proxy URL to reach `target` through, or null (none configured, or NO_PROXY names the host). */
export function proxyFor(target: string | URL, env: NodeJS.ProcessEnv): URL | null {
  const url = typeof target === 'string' ? new URL(target) : target;
  const proxy =
    url.protocol === 'https:'
      ? pick(env, 'https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY')
      : pick(env, 'http_proxy', 'HTTP_PROXY');
  if (proxy === undefined || bypassesProxy(url, env)) return null;
  // A bare host:port is an http proxy, as curl reads it.
  return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`);
}
