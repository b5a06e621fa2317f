/**
 * Real Claude Code (the Linux binary of `@anthropic-ai/claude-code`) in Bedrock mode, unchanged, pointed at the
 * gateway with a virtual key as its Bedrock API key (claude-code-on-bedrock.md): its answer comes back through the
 * gateway's stream, and the ledger holds the call with the tokens Bedrock billed, the key's attribution and Claude
 * Code's session id. Its availability probes are recorded too, never as free. Its own OTLP telemetry, sent to the
 * receiver on the same ledger (as `serve` runs them), joins that record: the call counts once, and the session is
 * the key's person although the telemetry names nobody.
 *
 * The binary is found at TOKENLEDGER_TEST_CLAUDE_CODE, else in node_modules (an `npm install --no-save
 * @anthropic-ai/claude-code`), else on PATH; without one the test is skipped and says so (`.ci/run` installs it).
 */
import assert from 'node:assert/strict';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Collector, startCollector } from '../../src/cli/commands/collect.ts';
import type { RunningGateway } from '../../src/cli/commands/gateway.ts';
import type { Logger } from '../../src/core/index.ts';
import { newKey } from '../../src/gateway/index.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { type FakeBedrock, startFakeBedrock } from '../support/fake-bedrock.ts';
import { listPriceOf, startGatewayOnFake } from '../support/gateway.ts';
import { runProcess } from '../support/process.ts';
import { tempDir } from '../support/temp-dir.ts';

const CREDS = { accessKeyId: 'AKIDCLAUDECODE', secretAccessKey: 'claude-code-test-secret' };
const _quiet: Logger = { info() {}, warn() {}, error() {} };

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findClaude(): string | null {
  const given = process.env.TOKENLEDGER_TEST_CLAUDE_CODE;
  if (given !== undefined && given !== '') return given;
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const local = join(
    process.cwd(),
    'node_modules',
    '@anthropic-ai',
    `claude-code-linux-${arch}`,
    'claude',
  );
  if (executable(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(delimiter))
    if (dir !== '' && executable(join(dir, 'claude'))) return join(dir, 'claude');
  return null;
}

const claude = process.platform === 'linux' ? findClaude() : null;
const skip =
  claude === null
    ? 'no Claude Code binary: set TOKENLEDGER_TEST_CLAUDE_CODE or `npm install --no-save @anthropic-ai/claude-code`'
    : false;

// The skip is the test's, not the suite's, so that a run without the binary counts it as skipped.
describe('gateway: real Claude Code in Bedrock mode', () => {
  let fake: FakeBedrock;
  let rt: Runtime;
  let gw: RunningGateway;
  let collector: Collector;
  const dir = tempDir('tl-gw-claude-');
  const made = newKey(
    {
      name: 'dev-laptop',
      team: 'platform',
      user: 'dev@example.com',
      feature: 'coding',
      project: null,
      environment: null,
    },
    Date.now(),
    null,
  );

  before(async () => {
    if (skip) return;
    fake = await startFakeBedrock({ credentials: [CREDS] });
    rt = await openRuntime({ db: join(dir.path, 'ledger.duckdb'), configPath: undefined, env: {} });
    await rt.store.gatewayKeys.put([made.key]);
    gw = await startGatewayOnFake(rt, { upstream: fake.url, creds: CREDS, baseDir: dir.path });
    // Its OTLP telemetry into the same ledger, as `tokenledger serve` runs them.
    collector = await startCollector(rt, { port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await collector?.close();
    await gw?.close();
    await rt?.close();
    await fake?.close();
    dir.remove();
  });

  test('`claude -p` answers through the gateway; the call is in the ledger with its session, tokens and dollars', {
    skip,
  }, async () => {
    const home = join(dir.path, 'home');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      TERM: 'dumb',
      CLAUDE_CODE_USE_BEDROCK: '1',
      ANTHROPIC_BEDROCK_BASE_URL: gw.url,
      AWS_BEARER_TOKEN_BEDROCK: made.plaintext,
      AWS_REGION: 'us-east-1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      CLAUDE_CODE_ENABLE_TELEMETRY: '1',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_LOGS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      OTEL_LOGS_EXPORT_INTERVAL: '500',
      // No person in the telemetry (Bedrock sessions have no account): the virtual key names them.
      OTEL_RESOURCE_ATTRIBUTES: 'team=platform',
    };
    const run = await runProcess(claude as string, ['-p', 'say hello'], { env, cwd: dir.path });
    assert.equal(run.code, 0, `claude exited ${run.code}: ${run.err}`);
    // The fake's answer text ("w0 w1 …"), as Claude Code printed it.
    assert.match(run.out, /w0 w1/);

    const streams = fake.requests.filter((r) => r.operation === 'InvokeModelWithResponseStream');
    assert.equal(streams.length, 1, 'one streamed model call');
    const call = streams[0];
    assert.ok(call?.tokens);
    // Claude Code's x-claude-code-session-id, which the gateway passes on as request metadata.
    const session = call.requestMetadata?.session;
    assert.match(String(session), /^[0-9a-f-]{36}$/, 'Claude Code sent its session id');
    assert.equal(call.requestMetadata?.team, 'platform');
    assert.equal(
      call.auth,
      'sigv4',
      'the gateway signed it; the virtual key never reached Bedrock',
    );

    await gw.flush();
    const stored = await rt.store.getRecord(call.requestId);
    assert.ok(stored, 'the call is in the ledger under its Bedrock request id');
    assert.equal(stored.source, 'gateway');
    assert.equal(stored.operation, 'InvokeModelWithResponseStream');
    assert.equal(stored.team, 'platform');
    assert.equal(stored.user, 'dev@example.com');
    assert.equal(stored.session, session);
    const t = call.tokens;
    assert.deepEqual(
      [
        stored.input_tokens,
        stored.output_tokens,
        stored.cache_read_tokens,
        stored.cache_write_5m_tokens,
        stored.cache_write_1h_tokens,
      ].map(Number),
      [t.input, t.output, t.cacheRead, t.cacheWrite5m, t.cacheWrite1h],
    );
    const expected = listPriceOf(rt, {
      ...call,
      operation: 'InvokeModelWithResponseStream',
      tokens: t,
    });
    assert.ok(expected !== null && expected > 0n, `${call.modelId} is priced`);
    assert.equal(BigInt(String(stored.cost_pusd)), expected, 'the exact dollars');

    // Every call Claude Code made (its availability probes too) is in the ledger, each priced.
    const { total } = await rt.store.queryUsage({ groupBy: [], where: [] });
    const billed = fake.requests.filter((q) => q.tokens !== null).length;
    assert.equal(total.requests, billed);
    assert.equal(total.unpricedRequests, 0);

    // Its telemetry arrived (Claude Code exports on exit), and the api_request event of the streamed call is that
    // same call: the session costs what the gateway's record costs, under the person the key names (the telemetry
    // itself only has Claude Code's install id), and the ledger gained no telemetry-only row (the call counts once).
    const range = { from: Date.now() - 3_600_000, to: Date.now() + 60_000 };
    const sessions = await rt.store.telemetry.telemetryReport({
      kind: 'sessions',
      ...range,
      limit: 5,
    });
    const mine = sessions.find((x) => x.sessionId === session);
    assert.ok(
      mine,
      `the telemetry has the gateway's session (${sessions.map((x) => x.sessionId).join(', ')})`,
    );
    assert.equal(mine.user, 'dev@example.com');
    assert.equal(
      mine.costPicos,
      expected,
      'the session costs the ledger record, not its own repricing',
    );
    assert.equal((await rt.store.queryUsage({ groupBy: [], where: [] })).total.requests, billed);
  });
});
