/**
 * What each piece of the gateway's request path costs, one at a time, in one process:
 * `node --import tsx bench/gateway-parts.ts [--n 20000]`. CPU µs per call (process.cpuUsage, best of 5 rounds) for
 * the steps tokenledger adds to a plain forwarding proxy: key check, worst-case pricing and the governor, SigV4,
 * per-call cancellation, usage reading, the row encoding, the spool append, and the ledger write behind the spool. Read it next to
 * the gateway step's "CPU per request, tokenledger vs minimal proxy" rows: the sum of these is most of the gap.
 * Nothing here is asserted; on a busy machine every figure rises, their proportions much less.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { worstCasePricer } from '../src/cli/commands/gateway.ts';
import { createGatewayLedger } from '../src/cli/gateway-ledger.ts';
import type { RawUsage } from '../src/core/index.ts';
import { StreamUsageReader } from '../src/gateway/eventstream.ts';
import { createGovernor, createSpool, KeyRing, newKey } from '../src/gateway/index.ts';
import { createSigV4Signer } from '../src/gateway/sigv4.ts';
import { Cancel } from '../src/gateway/upstream.ts';
import { usageFromConverseJson, usageFromInvoke } from '../src/gateway/usage.ts';
import { createRowEncoder } from '../src/pipeline/index.ts';
import { priceOf } from '../src/price/index.ts';
import { openRuntime } from '../src/runtime.ts';
import { chunkFrame } from '../test/support/fake-bedrock.ts';
import { GATEWAY_YAML } from './gateway-servers.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '20000' } } });
const N = Number(values.n);
const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';

interface Part {
  readonly name: string;
  readonly perCall: number;
}

async function measure(name: string, n: number, fn: (i: number) => unknown): Promise<Part> {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const r = fn(i);
      if (r instanceof Promise) await r;
    }
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / n);
  }
  return { name, perCall: best };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tl-parts-'));
  const configPath = join(dir, 'tokenledger.yaml');
  writeFileSync(configPath, GATEWAY_YAML(join(dir, 'spool')));
  const rt = await openRuntime({ db: join(dir, 'ledger.duckdb'), configPath, env: {} });
  const parts: Part[] = [];
  const now = Date.now();
  const costOf = (raw: RawUsage) => priceOf(rt.normaliser.normalise(raw), rt.catalog).cost.picos;
  const raw = (i: number, tokens = { input: 520, output: 19 }): RawUsage => ({
    requestId: `req-${i}-${now}`,
    occurredAt: now,
    accountId: 'gateway',
    region: 'us-east-1',
    inferenceRegion: null,
    operation: 'InvokeModel',
    modelId: SONNET,
    identityArn: null,
    requestMetadata: { team: 'team-1', user: 'user-1@example.com', gateway_key: 'abcdefabcdef' },
    tokens: { cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, ...tokens },
    cacheTtlKnown: true,
    tier: 'standard',
    latencyMs: 42,
    firstByteMs: null,
    errorCode: null,
    source: { uri: 'gateway', line: 0 },
  });

  // Key check: one SHA-256 of the plaintext and a map lookup.
  const keys = Array.from({ length: 16 }, (_, i) =>
    newKey(
      {
        name: `k${i}`,
        team: `team-${i % 4}`,
        user: `u${i}`,
        feature: null,
        project: null,
        environment: null,
      },
      now,
      null,
    ),
  );
  const ring = new KeyRing(keys.map((k) => k.key));
  parts.push(
    await measure('key check (KeyRing.check)', N, (i) =>
      ring.check((keys[i % 16] as (typeof keys)[number]).plaintext, now),
    ),
  );

  // Pricing one call from scratch (normalise + priceOf), and what the gateway does instead: its row and price from
  // the card, attribution and shared columns it keeps per caller and model (createRowEncoder).
  parts.push(await measure('price one call (normalise + priceOf)', N, (i) => costOf(raw(i))));
  const rows = createRowEncoder(rt);
  parts.push(
    await measure('encode one call as its ledger row, with its price (RowEncoder)', N, (i) =>
      rows.encode(raw(i)),
    ),
  );

  // The governor with the bench's budgets and limit: admit (worst case priced twice) + settle.
  const governor = createGovernor(rt.config.gateway, {
    clock: Date.now,
    log: { info() {}, warn() {}, error() {} },
  });
  await governor.load([]);
  const worstCaseOf = worstCasePricer(rt, 'us-east-1', 'gateway', Date.now);
  const admitSettle = (worstCase: (m: string) => bigint | null) => async (i: number) => {
    const k = (keys[i % 16] as (typeof keys)[number]).key;
    const a = await governor.admit({
      key: k.id,
      team: k.team,
      user: k.user,
      model: SONNET,
      worstCase,
      tokensEstimate: 3300,
    });
    if (!a.ok) throw new Error(`refused: ${a.message}`);
    await governor.settle(a.ticket, 1_000_000n, 540);
  };
  parts.push(
    await measure(
      'governor admit + settle, constant worst case',
      N,
      admitSettle(() => 10n ** 10n),
    ),
  );
  parts.push(
    await measure(
      'governor admit + settle, worst case priced as the gateway does (cached rate card)',
      N,
      admitSettle((model) => worstCaseOf(model, 'standard', 3000, 256)),
    ),
  );

  // SigV4 of a forwarded 2 KB body (node:crypto, cached signing key).
  const signer = createSigV4Signer({
    region: 'us-east-1',
    service: 'bedrock',
    credentials: async () => ({ accessKeyId: 'AKIDBENCH', secretAccessKey: 'secret' }),
  });
  const body = Buffer.from('x'.repeat(2048));
  const path = `/model/${encodeURIComponent(SONNET)}/invoke`;
  parts.push(
    await measure('SigV4 sign, 2 KB body', N, () =>
      signer.sign({
        method: 'POST',
        host: '127.0.0.1:8080',
        path,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'content-length': '2048',
          'x-amzn-bedrock-request-metadata': '{"team":"t","user":"u"}',
        },
        body,
      }),
    ),
  );

  // The per-call cancellation (upstream.ts Cancel) and, for comparison, the AbortController it replaced (as
  // http.request listens to a `signal`).
  parts.push(
    await measure('Cancel + listener (per call)', N, () => {
      const c = new Cancel();
      c.onCancel(() => {});
    }),
  );
  parts.push(
    await measure('  (was: AbortController + listener + abort())', N, () => {
      const c = new AbortController();
      c.signal.addEventListener('abort', () => {}, { once: true });
      c.abort();
    }),
  );
  parts.push(
    await measure('setTimeout + clearTimeout (per-call timer)', N, () => {
      clearTimeout(setTimeout(() => {}, 300_000));
    }),
  );

  // Usage reading.
  const invokeAnswer = Buffer.from(
    JSON.stringify({
      id: 'msg_bdrk_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      content: [{ type: 'text', text: 'w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 520, output_tokens: 19 },
    }),
  );
  const invokeHeaders = {
    'x-amzn-bedrock-input-token-count': '520',
    'x-amzn-bedrock-output-token-count': '19',
    'x-amzn-bedrock-invocation-latency': '42',
  };
  parts.push(
    await measure('usage of an InvokeModel JSON answer', N, () =>
      usageFromInvoke(invokeAnswer, invokeHeaders),
    ),
  );
  const converseAnswer = Buffer.from(
    JSON.stringify({
      metrics: { latencyMs: 42 },
      output: { message: { content: [{ text: 'w0 w1 w2' }], role: 'assistant' } },
      stopReason: 'end_turn',
      usage: { inputTokens: 520, outputTokens: 19, totalTokens: 539 },
    }),
  );
  parts.push(
    await measure('usage of a Converse JSON answer', N, () =>
      usageFromConverseJson(converseAnswer),
    ),
  );
  const frames: Uint8Array[] = [
    chunkFrame({
      type: 'message_start',
      message: { usage: { input_tokens: 520, output_tokens: 1 } },
    }),
  ];
  for (let i = 0; i < 21; i++)
    frames.push(
      chunkFrame({
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text: ` w${i}` },
      }),
    );
  frames.push(
    chunkFrame({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn' },
      usage: { output_tokens: 19 },
    }),
  );
  frames.push(
    chunkFrame({
      type: 'message_stop',
      'amazon-bedrock-invocationMetrics': {
        inputTokenCount: 520,
        outputTokenCount: 19,
        invocationLatency: 42,
        firstByteLatency: 17,
      },
    }),
  );
  const chunks = frames.map((f) => Buffer.from(f));
  parts.push(
    await measure(`usage of a ${chunks.length}-event InvokeModelWithResponseStream`, N / 4, () => {
      const r = new StreamUsageReader();
      for (const c of chunks) r.push(c);
      return r.finish();
    }),
  );

  // The spool: one row and one write(2) per call (the flush timer is kept out of the way).
  const spool = createSpool<string>({
    dir: join(dir, 'spool-parts'),
    batchSize: 500,
    flushMs: 600_000,
    onStoreDown: 'serve',
    log: { info() {}, warn() {}, error() {} },
    serialize: (row) => row,
    writeLines: async () => ({ unreadable: 0 }),
  });
  const row = rows.encode(raw(0)).row;
  parts.push(await measure('spool append (one row + write(2))', N, () => spool.append(row)));
  await spool.close();

  // Behind the spool, in startGateway's batches: the rows as the spool hands them over, read for their ids and
  // times, written to a file and inserted (DuckDB's own threads do most of that), then telemetry.enrich.
  const BATCH = rt.config.gateway.spool.batchSize;
  let seq = 0;
  const batches = Math.max(2, Math.round(N / BATCH / 5));
  const ledger = createGatewayLedger(rt, { warn() {} });
  const ready = Array.from({ length: 5 * batches }, () => {
    const lines = [];
    for (let j = 0; j < BATCH; j++) lines.push(rows.encode(raw(seq++)).row);
    return Buffer.from(`${lines.join('\n')}\n`);
  });
  parts.push(
    await measure(
      `  … then per record: the store write of batches of ${BATCH} (mostly DuckDB threads)`,
      batches,
      async () => {
        const batch = ready.pop();
        if (batch === undefined) throw new Error('no batch left');
        await ledger.writeLines(batch, BATCH);
      },
    ).then((p) => ({ ...p, perCall: p.perCall / BATCH })),
  );
  ledger.close();
  await rt.close();
  rmSync(dir, { recursive: true, force: true });

  const w = Math.max(...parts.map((p) => p.name.length));
  console.log(
    `gateway parts: CPU µs per call, best of 5 rounds of ${N} calls (node ${process.version})`,
  );
  for (const p of parts)
    console.log(`  ${p.name.padEnd(w)}  ${p.perCall.toFixed(2).padStart(8)} µs`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
