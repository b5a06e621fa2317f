/**
 * The gateway's upstream over HTTPS, as it is to real Bedrock: `tokenledger gateway` as a process, set up by the
 * standard environment alone (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME=https://…`, static AWS keys, and
 * `NODE_EXTRA_CA_CERTS` to trust a private CA), in front of a fake Bedrock serving TLS that verifies every SigV4
 * signature. The real AWS SDK calls through it: a JSON answer and an event stream, both in the ledger on exit.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { newKey } from '../../src/gateway/index.ts';
import { openRuntime } from '../../src/runtime.ts';
import { runCli } from '../support/cli.ts';
import { startFakeBedrock } from '../support/fake-bedrock.ts';
import { HAIKU } from '../support/gateway.ts';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.ts';
import { startTestProxy } from '../support/http-proxy.ts';
import { tempDir } from '../support/temp-dir.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CERT = join(ROOT, 'test/support/tls/localhost.crt');
const KEY = join(ROOT, 'test/support/tls/localhost.key');
const CREDS = { accessKeyId: 'AKIDHTTPSUPSTREAM', secretAccessKey: 'https-upstream-secret' };

describe('gateway → Bedrock over HTTPS', () => {
  const dirs: { remove(): void }[] = [];
  after(() => {
    for (const d of dirs) d.remove();
  });

  test('signed calls over TLS to a privately trusted endpoint; JSON and event stream recorded', async () => {
    await callsRecorded({});
  });

  test('through HTTPS_PROXY (a CONNECT tunnel with Basic credentials), never logging them', async () => {
    const proxy = await startTestProxy({ user: 'gw', password: 'proxy-pass-123' });
    try {
      const logs = await callsRecorded({
        HTTPS_PROXY: proxy.url.replace('//', '//gw:proxy-pass-123@'),
      });
      assert.equal(proxy.refused, 0);
      assert.ok(proxy.tunnels.length >= 1);
      assert.ok(
        proxy.tunnels.every((t) => t.startsWith('localhost:')),
        proxy.tunnels.join(' '),
      );
      assert.match(logs, /Bedrock is reached through a proxy/);
      assert.doesNotMatch(logs, /proxy-pass-123/);
    } finally {
      await proxy.close();
    }
  });

  /** Runs `tokenledger gateway` with the standard environment plus `extraEnv`; returns what it logged. */
  async function callsRecorded(extraEnv: NodeJS.ProcessEnv): Promise<string> {
    const dir = tempDir('tl-gw-https-up-');
    dirs.push(dir);
    const fake = await startFakeBedrock({
      credentials: [CREDS],
      tls: { cert: readFileSync(CERT), key: readFileSync(KEY) },
    });
    const db = join(dir.path, 'ledger.duckdb');
    const made = newKey(
      {
        name: 'https',
        team: 'search',
        user: null,
        feature: null,
        project: null,
        environment: null,
      },
      Date.now(),
      null,
    );
    const seed = await openRuntime({ db, configPath: undefined, env: {} });
    await seed.store.gatewayKeys.put([made.key]);
    await seed.close();

    let gw: GatewayProcess | null = null;
    try {
      gw = await startGatewayProcess(db, {
        PATH: process.env.PATH,
        HOME: dir.path,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: CREDS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
        NODE_EXTRA_CA_CERTS: CERT,
        ...extraEnv,
      });
      const url = gw.url;
      const client = new BedrockRuntimeClient({
        region: 'us-east-1',
        endpoint: url,
        token: { token: made.plaintext },
        authSchemePreference: ['httpBearerAuth'],
        maxAttempts: 1,
      });
      const messages = [{ role: 'user' as const, content: [{ text: 'hello over TLS' }] }];
      const json = await client.send(new ConverseCommand({ modelId: HAIKU, messages }));
      const stream = await client.send(new ConverseStreamCommand({ modelId: HAIKU, messages }));
      let streamed:
        | { inputTokens?: number | undefined; outputTokens?: number | undefined }
        | undefined;
      for await (const ev of stream.stream ?? []) if (ev.metadata) streamed = ev.metadata.usage;
      client.destroy();

      // The fake verified both signatures (a bad one is a 403) and saw the host it serves.
      assert.deepEqual(
        fake.requests.map((r) => [r.operation, r.auth, r.headers.host]),
        [
          ['Converse', 'sigv4', `localhost:${fake.port}`],
          ['ConverseStream', 'sigv4', `localhost:${fake.port}`],
        ],
      );
      assert.equal(await gw.stop(), 0, gw.logs());

      const rt = await openRuntime({ db, configPath: undefined, env: {} });
      try {
        const ids = fake.requests.map((r) => r.requestId);
        const rows = await Promise.all(ids.map((id) => rt.store.getRecord(id)));
        assert.equal(Number(rows[0]?.input_tokens), json.usage?.inputTokens);
        assert.equal(Number(rows[0]?.output_tokens), json.usage?.outputTokens);
        assert.equal(Number(rows[1]?.input_tokens), streamed?.inputTokens);
        assert.equal(Number(rows[1]?.output_tokens), streamed?.outputTokens);
        assert.deepEqual(
          rows.map((r) => [r?.team, r?.operation]),
          [
            ['search', 'Converse'],
            ['search', 'ConverseStream'],
          ],
        );
      } finally {
        await rt.close();
      }
      // `explain` says what recorded the call.
      const explained = await runCli(['explain', String(fake.requests[0]?.requestId), '--db', db], {
        env: {},
        cwd: dir.path,
        now: Date.now(),
        placeholders: {},
      });
      assert.equal(explained.code, 0, explained.err);
      assert.match(
        explained.out,
        /\n {2}source {10}the tokenledger gateway \(recorded as it forwarded the call\)\n/,
      );
      return gw.logs();
    } finally {
      gw?.kill();
      await fake.close();
    }
  }
});
