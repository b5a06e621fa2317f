import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { isAppError } from '../core/index.ts';
import { demoConfig } from './config-file.ts';
import { type DemoResult, generateDemo } from './index.ts';
import { APPLICATION_PROFILE_ARN } from './organisation.ts';
import { developers } from './people.ts';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON bodies are checked field by field below
type Loose = any;
interface LogRecord {
  readonly schemaType: string;
  readonly schemaVersion: string;
  readonly timestamp: string;
  readonly accountId: string;
  readonly region: string;
  readonly requestId: string;
  readonly operation: string;
  readonly modelId: string;
  readonly identity: { readonly arn: string };
  readonly requestMetadata?: Loose;
  readonly input: Loose;
  readonly output: Loose;
  readonly inferenceRegion?: string;
  readonly errorCode?: string;
}
interface Rule {
  readonly match: { readonly sessionName?: string; readonly arn?: string; readonly role?: string };
  readonly set: { readonly team?: string };
}

const END = new Date('2026-04-15T00:00:00Z');
const temp = mkdtempSync(join(tmpdir(), 'tokenledger-demo-'));
const dir = (name: string) => join(temp, name);
let runA: DemoResult;
let runB: DemoResult;
let week: DemoResult;

before(async () => {
  runA = await generateDemo({ outDir: dir('a'), days: 2, seed: 7, end: END });
  runB = await generateDemo({ outDir: dir('b'), days: 2, seed: 7, end: END });
  await generateDemo({ outDir: dir('c'), days: 2, seed: 8, end: END });
  week = await generateDemo({
    outDir: dir('week'),
    days: 7,
    seed: 11,
    end: END,
    requestsPerDay: 1500,
  });
});
after(() => rmSync(temp, { recursive: true, force: true }));

function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(root, path).split(sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

const RECORD_FILE =
  /^AWSLogs\/(\d{12})\/BedrockModelInvocationLogs\/([a-z]{2}-[a-z]+-\d)\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/(\d{8})T(\d{2})\d{4}Z_[0-9a-f]{16}\.json\.gz$/;
const DATA_FILE =
  /^AWSLogs\/\d{12}\/BedrockModelInvocationLogs\/[a-z]{2}-[a-z]+-\d\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/data\/([0-9a-f-]{36})_input\.json\.gz$/;
const MARKER =
  /^AWSLogs\/\d{12}\/BedrockModelInvocationLogs\/amazon-bedrock-logs-permission-check$/;
const CUR_FILE =
  /^cur\/tokenledger-demo\/(data\/BILLING_PERIOD=\d{4}-\d{2}\/tokenledger-demo-00001\.csv\.gz|metadata\/BILLING_PERIOD=\d{4}-\d{2}\/tokenledger-demo-Manifest\.json)$/;
const METRICS_FILE = /^cloudwatch\/\d{12}\/[a-z]{2}-[a-z]+-\d\/\d{4}-\d{2}-\d{2}\.json$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const IDENTITY =
  /^arn:aws:(iam::\d{12}:user\/[\w.@+=,-]+|sts::\d{12}:assumed-role\/[\w+=,.@-]+\/[\w+=,.@-]+)$/;
const OPERATIONS = ['Converse', 'ConverseStream', 'InvokeModel', 'InvokeModelWithResponseStream'];

/** Every record of a run, with the path of the file it came from. */
function readRecords(root: string): { path: string; record: LogRecord }[] {
  const out: { path: string; record: LogRecord }[] = [];
  for (const path of listFiles(root).filter((p) => RECORD_FILE.test(p))) {
    const text = gunzipSync(readFileSync(join(root, path))).toString('utf8');
    assert.ok(text.endsWith('\n'), `${path} ends with a newline`);
    for (const line of text.slice(0, -1).split('\n')) out.push({ path, record: JSON.parse(line) });
  }
  return out;
}

test('every file sits in the S3 layout', () => {
  const files = listFiles(dir('a'));
  const records = files.filter((p) => RECORD_FILE.test(p));
  assert.equal(records.length, runA.files);
  assert.equal(files.filter((p) => MARKER.test(p)).length, 3);
  for (const path of files) {
    const ok =
      path === 'tokenledger.yaml' ||
      path === 'demo-truth.json' ||
      RECORD_FILE.test(path) ||
      DATA_FILE.test(path) ||
      MARKER.test(path) ||
      CUR_FILE.test(path) ||
      METRICS_FILE.test(path);
    assert.ok(ok, `unexpected file ${path}`);
    const m = RECORD_FILE.exec(path);
    if (m)
      assert.equal(
        `${m[7]}${m[8]}`,
        `${m[3]}${m[4]}${m[5]}${m[6]}`,
        `${path}: name matches its folder`,
      );
  }
});

test('every record has the required fields, in its own folder', () => {
  const records = readRecords(dir('a'));
  assert.equal(records.length, runA.records);
  const ids = new Set<string>();
  for (const { path, record: r } of records) {
    const m = RECORD_FILE.exec(path);
    assert.ok(m);
    assert.equal(r.schemaType, 'ModelInvocationLog');
    assert.equal(r.schemaVersion, '1.0');
    assert.match(r.timestamp, TIMESTAMP);
    assert.equal(r.timestamp.slice(0, 13), `${m[3]}-${m[4]}-${m[5]}T${m[6]}`);
    assert.equal(r.accountId, m[1]);
    assert.equal(r.region, m[2]);
    assert.match(r.requestId, UUID);
    assert.ok(!ids.has(r.requestId), 'request ids are unique');
    ids.add(r.requestId);
    assert.ok(OPERATIONS.includes(r.operation));
    assert.equal(typeof r.modelId, 'string');
    assert.match(r.identity.arn, IDENTITY);
    assert.equal(r.input.inputContentType, 'application/json');
    assert.ok(Number.isInteger(r.input.inputTokenCount) && r.input.inputTokenCount >= 0);
    if (r.input.inputBodyS3Path) {
      const key = r.input.inputBodyS3Path.replace(/^s3:\/\/[^/]+\//, '');
      assert.equal(
        key,
        `${path.slice(0, path.lastIndexOf('/'))}/data/${r.requestId}_input.json.gz`,
      );
      assert.equal(
        typeof JSON.parse(gunzipSync(readFileSync(join(dir('a'), key))).toString()),
        'object',
      );
    }
    if (r.requestMetadata !== undefined) {
      for (const value of Object.values(r.requestMetadata))
        assert.match(String(value), /^[\w\s:@$#=/+,.-]*$/);
    }
    checkTokens(r);
  }
});

/** Top-level counts agree with the usage inside the body, in whichever shape the operation logs it. */
function checkTokens(r: LogRecord): void {
  const input = r.input;
  const output = r.output;
  const read: number = input.cacheReadInputTokenCount ?? 0;
  const write: number = input.cacheWriteInputTokenCount ?? 0;
  const out: number | undefined = output.outputTokenCount;
  const body = output.outputBodyJson;
  const where = `${r.requestId} ${r.operation} ${r.modelId}`;
  if (r.errorCode) {
    assert.equal(out, 0, where);
    assert.equal(body, undefined, where);
    return;
  }
  if (body === undefined) return;
  if (r.operation === 'InvokeModelWithResponseStream') {
    assert.ok(Array.isArray(body), where);
    const start = body[0].message.usage;
    assert.equal(start.input_tokens, input.inputTokenCount, where);
    assert.equal(start.cache_read_input_tokens, read, where);
    assert.equal(start.cache_creation_input_tokens, write, where);
    assert.equal(start.output_tokens, 1, where);
    const delta = body.find((c: Loose) => c.type === 'message_delta');
    assert.equal(delta.usage.output_tokens, out, where);
    const metrics = body.at(-1)['amazon-bedrock-invocationMetrics'];
    assert.equal(metrics.inputTokenCount, input.inputTokenCount, where);
    assert.equal(metrics.outputTokenCount, out, where);
    assert.equal(metrics.cacheReadInputTokenCount ?? 0, read, where);
    assert.equal(metrics.cacheWriteInputTokenCount ?? 0, write, where);
    return;
  }
  if (r.operation === 'Converse' || r.operation === 'ConverseStream') {
    const u = body.usage;
    assert.equal(u.inputTokens, input.inputTokenCount, where);
    assert.equal(u.outputTokens, out, where);
    assert.equal(u.totalTokens, input.inputTokenCount + read + write + out, where);
    assert.equal(u.cacheReadInputTokens ?? 0, read, where);
    assert.equal(u.cacheWriteInputTokens ?? 0, write, where);
    const details: { inputTokens: number }[] = u.cacheDetails ?? [];
    assert.equal(
      details.reduce((sum, d) => sum + d.inputTokens, 0),
      write,
      where,
    );
    assert.equal(typeof body.metrics.latencyMs, 'number', where);
    return;
  }
  if (body.usage?.input_tokens !== undefined) {
    const u = body.usage;
    assert.equal(u.input_tokens, input.inputTokenCount, where);
    assert.equal(u.output_tokens, out, where);
    assert.equal(u.cache_read_input_tokens, read, where);
    assert.equal(u.cache_creation_input_tokens, write, where);
    const split = u.cache_creation;
    if (split)
      assert.equal(split.ephemeral_5m_input_tokens + split.ephemeral_1h_input_tokens, write);
  } else if (body.usage?.inputTokens !== undefined) {
    assert.equal(body.usage.inputTokens, input.inputTokenCount, where);
    assert.equal(body.usage.outputTokens, out, where);
  } else if (body.inputTextTokenCount !== undefined) {
    assert.equal(body.inputTextTokenCount, input.inputTokenCount, where);
    assert.equal(out, 0, where);
  } else if (body.generation !== undefined) {
    assert.equal(body.prompt_token_count, input.inputTokenCount, where);
    assert.equal(body.generation_token_count, out, where);
  } else {
    assert.equal(body.response_type, 'embeddings_floats', where);
    assert.equal(out, undefined, where);
  }
}

test('a week covers the organisation, every operation and every model-id form', () => {
  const records = readRecords(dir('week')).map((x) => x.record);
  const teams = new Set<string>();
  const users = new Set<string>();
  const ops = new Set<string>();
  const forms = new Set<string>();
  for (const r of records) {
    if (r.requestMetadata?.team) teams.add(r.requestMetadata.team);
    if (r.requestMetadata?.user) users.add(r.requestMetadata.user);
    const who = /(?:assumed-role\/ClaudeCodeDevelopers|:user)\/(.+)$/.exec(r.identity.arn);
    if (who?.[1]) users.add(who[1]);
    ops.add(r.operation);
    forms.add(modelIdForm(r.modelId));
    checkTokens(r);
  }
  assert.ok(teams.size >= 8, `teams: ${[...teams]}`);
  assert.ok(users.size >= 100, `only ${users.size} users`);
  assert.deepEqual([...ops].sort(), OPERATIONS);
  assert.deepEqual([...forms].sort(), [
    'apac.',
    'application-profile-arn',
    'bare',
    'eu.',
    'foundation-model-arn',
    'global.',
    'inference-profile-arn',
    'us.',
  ]);
  assert.ok(records.some((r) => r.modelId === APPLICATION_PROFILE_ARN));
  assert.ok(
    records.some((r) => r.modelId === 'us.writer.palmyra-x5-v1:0'),
    'an unpriced model',
  );
});

function modelIdForm(id: string): string {
  if (id.includes(':application-inference-profile/')) return 'application-profile-arn';
  if (id.includes(':inference-profile/')) return 'inference-profile-arn';
  if (id.includes(':foundation-model/')) return 'foundation-model-arn';
  const geo = /^(us|eu|apac|global)\./.exec(id);
  return geo ? `${geo[1]}.` : 'bare';
}

test('the messy parts real logs have are all there', () => {
  const records = readRecords(dir('week')).map((x) => x.record);
  const count = (pred: (r: LogRecord) => boolean) => records.filter(pred).length;
  const errors = count((r) => Boolean(r.errorCode));
  assert.ok(
    errors / records.length > 0.005 && errors / records.length < 0.04,
    `error share ${errors}`,
  );
  assert.ok(
    count((r) => !('cacheReadInputTokenCount' in r.input)) > 0,
    'records without cache fields',
  );
  const bodiless = count((r) => !r.input.inputBodyJson && !r.input.inputBodyS3Path);
  assert.ok(
    bodiless / records.length > 0.1 && bodiless / records.length < 0.3,
    `bodiless ${bodiless}`,
  );
  assert.ok(count((r) => Boolean(r.input.inputBodyS3Path)) > 0, 'offloaded input bodies');
  assert.ok(
    count((r) => JSON.stringify(r.output.outputBodyJson ?? null).includes('"ttl":"1h"')) > 0,
  );
  assert.ok(count((r) => /"ephemeral_1h_input_tokens":[1-9]/.test(JSON.stringify(r.output))) > 0);
  assert.ok(count((r) => r.inferenceRegion !== undefined) > 0);
  assert.ok(
    count((r) => Object.keys(r).indexOf('identity') > Object.keys(r).indexOf('output')) > 0,
  );
  const etl = records.filter((r) => r.identity.arn.includes('/BedrockBatchETL/'));
  assert.ok(etl.length > 0 && etl.every((r) => r.requestMetadata === undefined));
  assert.ok(etl.every((r) => ['01', '02', '03'].includes(r.timestamp.slice(11, 13))));
  const embeddings = records.filter((r) => /titan-embed|cohere\.embed/.test(r.modelId));
  assert.ok(embeddings.every((r) => r.operation === 'InvokeModel' && !r.output.outputTokenCount));
});

test('the config attributes the untagged callers', () => {
  const config = parseYaml(readFileSync(week.configPath, 'utf8'));
  assert.deepEqual(config, JSON.parse(JSON.stringify(demoConfig(developers()))));
  assert.deepEqual(Object.keys(config.inferenceProfiles), [APPLICATION_PROFILE_ARN]);
  const rules: Rule[] = config.attribution.rules;
  const sessionRules = rules.filter((r) => r.match.sessionName !== undefined);
  for (const dev of developers()) {
    const hits = sessionRules.filter((r) => new RegExp(r.match.sessionName ?? '').test(dev.email));
    assert.equal(hits.length, 1, dev.email);
    assert.equal(hits[0]?.set.team, dev.team);
  }
  const iam = rules.find((r) => r.match.arn?.includes('svc-'));
  assert.ok(
    iam && new RegExp(iam.match.arn ?? '').test('arn:aws:iam::444455556666:user/svc-ci-runner'),
  );
  assert.ok(rules.some((r) => r.match.role && new RegExp(r.match.role).test('BedrockBatchETL')));
});

test('same seed, same bytes; another seed, other bytes', () => {
  const a = listFiles(dir('a'));
  assert.deepEqual(listFiles(dir('b')), a);
  // The bill, the metrics and the truth are compared too, not only the logs.
  for (const kind of [CUR_FILE, METRICS_FILE, RECORD_FILE]) assert.ok(a.some((p) => kind.test(p)));
  assert.ok(a.includes('demo-truth.json'));
  for (const path of a) {
    assert.ok(readFileSync(join(dir('a'), path)).equals(readFileSync(join(dir('b'), path))), path);
  }
  const relativeTo = (run: DemoResult, root: string) =>
    JSON.parse(JSON.stringify(run).replaceAll(JSON.stringify(root).slice(1, -1), '<root>'));
  assert.deepEqual(relativeTo(runA, dir('a')), relativeTo(runB, dir('b')));
  assert.equal(runA.logsRoot, join(dir('a'), 'AWSLogs'));
  assert.notDeepEqual(listFiles(dir('c')), a);
});

test('refuses to write over existing logs unless asked to', async () => {
  await assert.rejects(
    generateDemo({ outDir: dir('a'), days: 1, seed: 1, end: END }),
    (e: unknown) => isAppError(e) && e.code === 'demo.out_dir_not_empty',
  );
  const again = await generateDemo({
    outDir: dir('a'),
    days: 1,
    seed: 1,
    end: END,
    overwrite: true,
  });
  assert.equal(listFiles(dir('a')).filter((p) => RECORD_FILE.test(p)).length, again.files);
  assert.ok(existsSync(again.configPath));
});
