/**
 * The gateway over TLS (`gateway.tls`): the real AWS SDK v3 client, configured only by the standard environment
 * (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME=https://…`, `AWS_BEARER_TOKEN_BEDROCK`, and `NODE_EXTRA_CA_CERTS` to trust a
 * private CA), calls through it over h2 and the call is in the ledger. A certificate that cannot be read or used
 * stops the start with a message naming the setting.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startCollector } from '../../src/cli/commands/collect.ts';
import { newKey } from '../../src/gateway/index.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { startFakeBedrock } from '../support/fake-bedrock.ts';
import { startGatewayOnFake } from '../support/gateway.ts';
import { runNodeScript } from '../support/process.ts';
import { tempDir } from '../support/temp-dir.ts';

const CREDS = { accessKeyId: 'AKIDTLS', secretAccessKey: 'tls-secret' };
const CERT = fileURLToPath(new URL('../support/tls/localhost.crt', import.meta.url));
const KEY = fileURLToPath(new URL('../support/tls/localhost.key', import.meta.url));

describe('gateway and OTLP receiver over TLS', () => {
  const dir = tempDir('tl-gw-tls-');
  after(() => dir.remove());

  /** A runtime whose configuration (in its own folder) names the certificate files relative to itself. */
  async function runtime(name: string, tls: string, section = 'gateway'): Promise<Runtime> {
    const folder = join(dir.path, name);
    const config = join(folder, 'tokenledger.yaml');
    mkdirSync(join(folder, 'certs'), { recursive: true });
    copyFileSync(CERT, join(folder, 'certs', 'gateway.crt'));
    copyFileSync(KEY, join(folder, 'certs', 'gateway.key'));
    writeFileSync(config, `${section}:\n  tls:\n${tls}`);
    return openRuntime({ db: join(folder, 'ledger.duckdb'), configPath: config, env: {} });
  }

  test('the AWS SDK, set up by environment alone, calls through HTTPS (h2); the call is recorded', async () => {
    const fake = await startFakeBedrock({ credentials: [CREDS] });
    const rt = await runtime('ok', '    cert: certs/gateway.crt\n    key: certs/gateway.key\n');
    const made = newKey(
      { name: 'tls', team: 'search', user: null, feature: null, project: null, environment: null },
      Date.now(),
      null,
    );
    await rt.store.gatewayKeys.put([made.key]);
    const gw = await startGatewayOnFake(rt, {
      upstream: fake.url,
      creds: CREDS,
      baseDir: join(dir.path, 'ok'),
    });
    try {
      assert.match(gw.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const script = `
        import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
        const client = new BedrockRuntimeClient({ region: 'us-east-1', maxAttempts: 1 });
        const out = await client.send(new ConverseCommand({
          modelId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
          messages: [{ role: 'user', content: [{ text: 'hi' }] }] }));
        process.stdout.write(JSON.stringify({ id: out.$metadata.requestId, usage: out.usage }));
        client.destroy();`;
      const run = await runNodeScript(script, {
        PATH: process.env.PATH,
        NODE_EXTRA_CA_CERTS: CERT,
        // The certificate names localhost, not 127.0.0.1's URL host: the usual name for it.
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME: gw.url.replace('127.0.0.1', 'localhost'),
        AWS_BEARER_TOKEN_BEDROCK: made.plaintext,
      });
      assert.equal(run.code, 0, run.err);
      const answer = JSON.parse(run.out) as { id: string; usage: { inputTokens: number } };
      assert.equal(fake.requests.at(-1)?.requestId, answer.id);
      await gw.flush();
      const stored = await rt.store.getRecord(answer.id);
      assert.equal(stored?.team, 'search');
      assert.equal(Number(stored?.input_tokens), answer.usage.inputTokens);
    } finally {
      await gw.close();
      await rt.close();
      await fake.close();
    }
  });

  test('a certificate that cannot be read, or a key that is not its own, stops the start and says which', async () => {
    const refused = async (name: string, tls: string, message: RegExp) => {
      const rt = await runtime(name, tls);
      try {
        await assert.rejects(
          startGatewayOnFake(rt, {
            upstream: 'http://127.0.0.1:1',
            creds: CREDS,
            baseDir: dir.path,
          }),
          message,
        );
      } finally {
        await rt.close();
      }
    };
    await refused(
      'missing',
      '    cert: certs/nope.crt\n    key: certs/gateway.key\n',
      /gateway\.tls\.cert: cannot read .*nope\.crt/,
    );
    await refused(
      'swapped',
      '    cert: certs/gateway.key\n    key: certs/gateway.crt\n',
      /gateway\.tls: the certificate or key cannot be used/,
    );
  });

  test('the OTLP receiver serves HTTPS with otlp.tls: a client that trusts the CA delivers its logs', async () => {
    const rt = await runtime(
      'otlp',
      '    cert: certs/gateway.crt\n    key: certs/gateway.key\n',
      'otlp',
    );
    const collector = await startCollector(rt, { port: 0, host: '127.0.0.1' });
    try {
      assert.match(collector.url, /^https:/);
      const at = `${BigInt(Date.now()) * 1_000_000n}`;
      const body = JSON.stringify({
        resourceLogs: [
          {
            resource: {
              attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }],
            },
            scopeLogs: [
              {
                scope: { name: 'com.anthropic.claude_code.events' },
                logRecords: [
                  {
                    timeUnixNano: at,
                    body: { stringValue: 'claude_code.user_prompt' },
                    attributes: [
                      { key: 'event.name', value: { stringValue: 'user_prompt' } },
                      { key: 'session.id', value: { stringValue: 'S-tls' } },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      });
      const status = await new Promise<number>((resolve, reject) => {
        const u = new URL(`${collector.url}/v1/logs`);
        const req = https.request(
          {
            host: u.hostname,
            port: u.port,
            path: u.pathname,
            method: 'POST',
            ca: readFileSync(CERT),
            servername: 'localhost',
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(status, 200);
    } finally {
      await collector.close();
      await rt.close();
    }
  });
});
