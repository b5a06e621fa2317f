/**
 * The benchmark corpus: N realistic Bedrock invocation-log records (~1 KB a line) as gzip NDJSON in the S3 layout
 * (`AWSLogs/<acct>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/*.json.gz`, 10k records a file, or
 * `recordsPerFile` for many small objects; ~10k records an hour either way). Streaming
 * (one chunk of lines in memory at a time) and deterministic (seeded PRNG, fixed clock). Cached under `.bench/`
 * by N and file size: `ensureCorpus` regenerates only when the marker is missing or was written by another
 * generator version.
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { createRandom, type Random } from '../src/demo/random.ts';
import { hourKey, objectName } from '../src/demo/writer.ts';

/** Bump when the record shape changes: cached corpora of an older version are regenerated. */
const GENERATOR_VERSION = 4;
const RECORDS_PER_FILE = 10_000;
const CHUNK_RECORDS = 500;
const HOUR_MS = 3_600_000;
/** Fixed clock: the corpus ends here whatever day the benchmark runs. */
const END_MS = Date.UTC(2026, 10, 1);

export interface Corpus {
  /** The bucket root: pass it to `tokenledger ingest`. */
  readonly dir: string;
  readonly records: number;
  readonly files: number;
  readonly bytes: number;
  readonly rawBytes: number;
  readonly version: number;
}

const ACCOUNTS = ['111122223333', '444455556666', '777788889999'];
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-northeast-1'];
const GEO: Record<string, string> = { us: 'us', eu: 'eu', ap: 'apac' };
const TEAMS =
  'platform search support-bot data-science growth mobile security finance-ai legal-ops ads infra research'.split(
    ' ',
  );
const FEATURES =
  'chat summarise classify extract translate code-review triage rag-answer agent-step'.split(' ');
const ENVS = ['production', 'production', 'production', 'staging', 'dev'];
/** [foundation-model id, weight, anthropic (native bodies, cache fields)] */
const MODELS: [string, number, boolean][] = [
  ['anthropic.claude-sonnet-4-5-20250929-v1:0', 22, true],
  ['anthropic.claude-sonnet-4-6', 14, true],
  ['anthropic.claude-haiku-4-5-20251001-v1:0', 16, true],
  ['anthropic.claude-opus-4-6-v1', 4, true],
  ['anthropic.claude-sonnet-4-20250514-v1:0', 6, true],
  ['anthropic.claude-3-5-haiku-20241022-v1:0', 4, false],
  ['amazon.nova-micro-v1:0', 8, false],
  ['amazon.nova-lite-v1:0', 8, false],
  ['amazon.nova-pro-v1:0', 5, false],
  ['meta.llama3-3-70b-instruct-v1:0', 4, false],
  ['mistral.mistral-large-2402-v1:0', 2, false],
  ['openai.gpt-oss-120b-1:0', 3, false],
  ['deepseek.r1-v1:0', 1, false],
];
const WORDS = (
  'the a of to and in is for on with that this as be by from at or an are it not we you can will your ' +
  'customer order invoice account report summary model request response error service data table query ' +
  'please review explain write list compare translate classify extract answer question document policy ' +
  'refund shipping delivery status ticket priority escalate user login password reset billing plan ' +
  'function return value type string number array object config deploy build test pipeline cluster ' +
  'latency throughput cost budget team project quarter revenue forecast risk compliance audit contract'
).split(' ');

/**
 * `wide`: every record carries request metadata at Bedrock's limit, 16 entries (bedrock.md §4.1), thirteen of them
 * tags of 200 characters: ~3.5 KB of metadata per record, stored in the ledger as it came.
 */
export function corpusPaths(
  root: string,
  records: number,
  recordsPerFile = RECORDS_PER_FILE,
  wide = false,
): { dir: string; marker: string } {
  const name = `${
    recordsPerFile === RECORDS_PER_FILE
      ? `corpus-${records}`
      : `corpus-${records}-in-${recordsPerFile}s`
  }${wide ? '-wide-metadata' : ''}`;
  return { dir: join(root, name), marker: join(root, `${name}.json`) };
}

export async function ensureCorpus(
  root: string,
  records: number,
  log: (s: string) => void,
  recordsPerFile = RECORDS_PER_FILE,
  wide = false,
): Promise<Corpus & { cached: boolean }> {
  const { dir, marker } = corpusPaths(root, records, recordsPerFile, wide);
  if (existsSync(marker) && existsSync(dir)) {
    const c = JSON.parse(readFileSync(marker, 'utf8')) as Corpus;
    if (c.version === GENERATOR_VERSION && c.records === records)
      return { ...c, dir, cached: true };
  }
  log(`generating ${records.toLocaleString('en-US')} records into ${dir} …`);
  const t0 = performance.now();
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
  const c = await generate(tmp, records, recordsPerFile, wide);
  await rename(tmp, dir);
  const corpus: Corpus = { ...c, dir };
  await writeFile(marker, JSON.stringify(corpus, null, 2));
  log(
    `  ${c.files} files, ${(c.bytes / 1e6).toFixed(0)} MB gz, ${(c.rawBytes / records).toFixed(0)} B/record, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return { ...corpus, cached: false };
}

async function generate(
  dir: string,
  records: number,
  perFile: number,
  wide: boolean,
): Promise<Corpus> {
  const rng = createRandom(20261101);
  const users = makeUsers(rng);
  const files = Math.ceil(records / perFile);
  // ~RECORDS_PER_FILE records an hour, however they are split into files.
  const filesPerHour = Math.max(1, Math.round(RECORDS_PER_FILE / perFile));
  let bytes = 0;
  let rawBytes = 0;
  for (let f = 0; f < files; f++) {
    const n = Math.min(perFile, records - f * perFile);
    const account = ACCOUNTS[f % ACCOUNTS.length] as string;
    const region = REGIONS[Math.floor(f / ACCOUNTS.length) % REGIONS.length] as string;
    const hour = END_MS - Math.ceil((files - f) / filesPerHour) * HOUR_MS;
    const key = `${hourKey(account, region, hour)}/${objectName(hour + HOUR_MS + 240_000, rng.hex(16))}`;
    const path = join(dir, key);
    await mkdir(dirname(path), { recursive: true });
    const gzip = createGzip();
    const out = createWriteStream(path);
    const done = pipeline(gzip, out);
    for (let i = 0; i < n; i += CHUNK_RECORDS) {
      const lines: string[] = [];
      for (let j = i; j < Math.min(n, i + CHUNK_RECORDS); j++) {
        const ts = hour + Math.floor((j / n) * HOUR_MS);
        lines.push(recordLine(rng, users, account, region, ts, wide));
      }
      const chunk = `${lines.join('\n')}\n`;
      rawBytes += Buffer.byteLength(chunk);
      if (!gzip.write(chunk)) await once(gzip, 'drain');
    }
    gzip.end();
    await done;
    bytes += out.bytesWritten;
  }
  return { dir, records, files, bytes, rawBytes, version: GENERATOR_VERSION };
}

interface User {
  readonly name: string;
  readonly team: string;
  readonly role: string;
}

/** A few hundred people; skewed so a few are heavy users. */
function makeUsers(rng: Random): User[] {
  const users: User[] = [];
  for (let i = 0; i < 300; i++) {
    const team = TEAMS[i % TEAMS.length] as string;
    const name = `${rng.pick(['ana', 'bo', 'chen', 'dev', 'eli', 'fatima', 'goran', 'hana', 'ivo', 'jun'])}.${rng.alnum(5)}`;
    users.push({
      name,
      team,
      role: rng.chance(0.7) ? `${team}-developer` : 'AWSReservedSSO_PowerUser_1a2b3c',
    });
  }
  return users;
}

function modelIdFor(rng: Random, id: string, account: string, region: string): string {
  const geo = GEO[region.slice(0, 2)] ?? 'us';
  const r = rng.next();
  if (r < 0.3) return id;
  if (r < 0.55) return `${geo}.${id}`;
  if (r < 0.7) return `global.${id}`;
  if (r < 0.8) return `arn:aws:bedrock:${region}::foundation-model/${id}`;
  if (r < 0.9) return `arn:aws:bedrock:${region}:${account}:inference-profile/${geo}.${id}`;
  if (r < 0.98) return `arn:aws:bedrock:${region}:${account}:inference-profile/global.${id}`;
  // Application inference profiles come from a pool, as in a real account (AWS caps them per account; a team
  // creates one per application): one of 40 ids, not a new one per record.
  return `arn:aws:bedrock:${region}:${account}:application-inference-profile/${rng.pick(APPLICATION_PROFILES)}`;
}

const APPLICATION_PROFILES = Array.from(
  { length: 40 },
  (_, i) => `k7q2m9x4w${String(i).padStart(3, '0')}`,
);

function text(rng: Random, chars: number): string {
  let s = '';
  while (s.length < chars) s += `${WORDS[Math.floor(rng.next() * WORDS.length)]} `;
  return s.trimEnd();
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function recordLine(
  rng: Random,
  users: User[],
  account: string,
  region: string,
  ts: number,
  wide = false,
): string {
  const [base, , anthropic] = rng.weighted(MODELS, (m) => m[1]);
  const op = anthropic
    ? rng.weighted(
        ['Converse', 'ConverseStream', 'InvokeModel', 'InvokeModelWithResponseStream'],
        (o) => (o.startsWith('Converse') ? 3 : 2),
      )
    : rng.chance(0.65)
      ? 'Converse'
      : 'ConverseStream';
  const u = users[Math.floor(rng.next() ** 2 * users.length)] as User;
  const failed = rng.chance(0.01);
  const input = rng.logInt(20, 20_000);
  const output = failed ? 0 : rng.logInt(5, 2_000);
  const cached = anthropic && rng.chance(0.6);
  const cacheRead = cached ? rng.logInt(0, 60_000) : 0;
  const cacheWrite = cached ? rng.logInt(0, 4_000) : 0;
  const latency = 200 + output * rng.int(5, 20);
  const prompt = text(rng, rng.int(30, 110));
  const answer = failed ? '' : text(rng, rng.int(20, 80));
  let inBody: unknown;
  let outBody: unknown;
  if (op.startsWith('Converse')) {
    inBody = {
      messages: [{ role: 'user', content: [{ text: prompt }] }],
      inferenceConfig: { maxTokens: 4096 },
    };
    outBody = failed
      ? undefined
      : {
          output: { message: { role: 'assistant', content: [{ text: answer }] } },
          stopReason: 'end_turn',
          usage: {
            inputTokens: input,
            outputTokens: output,
            totalTokens: input + output,
            ...(cached
              ? { cacheReadInputTokens: cacheRead, cacheWriteInputTokens: cacheWrite }
              : {}),
          },
          metrics: { latencyMs: latency },
        };
  } else {
    inBody = {
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 4096,
      messages: [{ role: 'user', content: prompt }],
    };
    const usage = {
      input_tokens: input,
      output_tokens: output,
      cache_read_input_tokens: cacheRead,
      cache_creation_input_tokens: cacheWrite,
    };
    outBody = failed
      ? undefined
      : op === 'InvokeModel'
        ? {
            id: `msg_bdrk_${rng.alnum(24)}`,
            type: 'message',
            role: 'assistant',
            content: [{ type: 'text', text: answer }],
            stop_reason: 'end_turn',
            usage,
          }
        : [
            { type: 'message_start', message: { usage: { ...usage, output_tokens: 1 } } },
            { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: answer } },
            {
              type: 'message_stop',
              'amazon-bedrock-invocationMetrics': {
                inputTokenCount: input,
                outputTokenCount: output,
                invocationLatency: latency,
                firstByteLatency: rng.int(150, 900),
              },
            },
          ];
  }
  const meta =
    wide || rng.chance(0.85)
      ? { team: u.team, feature: rng.pick(FEATURES), environment: rng.pick(ENVS) }
      : undefined;
  if (wide && meta !== undefined)
    for (let t = 0; t < 13; t++) {
      let tag = '';
      while (tag.length < 200) tag += `${rng.pick(WORDS)} `;
      (meta as Record<string, string>)[`tag_${t}`] = tag.slice(0, 200);
    }
  const modelId = modelIdFor(rng, base, account, region);
  const profiled = modelId.includes('inference-profile/') || /^(us|eu|apac|global)\./.test(modelId);
  return JSON.stringify({
    schemaType: 'ModelInvocationLog',
    schemaVersion: '1.0',
    timestamp: isoSeconds(ts),
    accountId: account,
    identity: { arn: `arn:aws:sts::${account}:assumed-role/${u.role}/${u.name}@example.com` },
    region,
    requestId: rng.uuid(),
    operation: op,
    modelId,
    ...(meta ? { requestMetadata: meta } : {}),
    input: {
      inputContentType: 'application/json',
      inputBodyJson: inBody,
      inputTokenCount: input,
      ...(cached
        ? { cacheReadInputTokenCount: cacheRead, cacheWriteInputTokenCount: cacheWrite }
        : {}),
    },
    output: failed
      ? { outputTokenCount: 0 }
      : {
          outputContentType: 'application/json',
          outputBodyJson: outBody,
          outputTokenCount: output,
        },
    ...(profiled ? { inferenceRegion: region } : {}),
    ...(failed ? { errorCode: 'ThrottlingException' } : {}),
  });
}
