/**
 * The demo's Claude Code telemetry against its invocation logs: the OTLP files are export requests the receiver reads
 * as Claude Code, every API event is one of its developer's log records (same call, tokens, model and time), sessions
 * prompts and tools are in order, the metrics add up to the events, and the truth file describes them. The logs do
 * not depend on the telemetry.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  type ClaudeCodeEvent,
  type ClaudeCodeMetricDelta,
  CumulativeTracker,
  decodeOtlp,
  interpretClaudeCodeLogs,
  interpretClaudeCodeMetrics,
} from '../sources/index.ts';
import { type DemoResult, generateDemo, PILOT_TEAMS, type SessionTruth } from './index.ts';
import { responseModel } from './otlp.ts';
import { SESSION_IDLE_MS } from './otlp-sessions.ts';
import { developers } from './people.ts';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON is checked field by field below
type Loose = any;

/** A Thursday: the two days before it are busy weekdays, and the missing log hours fall inside them. */
const END = new Date('2026-11-12T00:00:00Z');
const temp = mkdtempSync(join(tmpdir(), 'tokenledger-otlp-'));
const dir = (name: string) => join(temp, name);
let run: DemoResult;
let truth: Loose;
let events: ClaudeCodeEvent[];
let deltas: ClaudeCodeMetricDelta[];
/** The raw OTLP/JSON requests, in file order. */
let logRequests: Loose[];
let metricRequests: Loose[];
let records: Loose[];

function listFiles(root: string): string[] {
  if (!existsSync(root)) return [];
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

const OTLP_FILE = /^\d{4}-\d{2}-\d{2}\/\d{4}-(logs|metrics)\.json$/;
const RECORD_FILE = /\/\d{2}\/[^/]+\.json\.gz$/;

before(
  async () => {
    const options = { days: 2, seed: 5, end: END };
    run = await generateDemo({ ...options, outDir: dir('on'), telemetry: true });
    await generateDemo({ ...options, outDir: dir('off') });
    await generateDemo({ ...options, outDir: dir('again'), telemetry: true });
    truth = JSON.parse(readFileSync(run.truthPath, 'utf8')).telemetry;
    records = [];
    for (const path of listFiles(run.logsRoot).filter((p) => RECORD_FILE.test(p))) {
      const text = gunzipSync(readFileSync(join(run.logsRoot, path))).toString('utf8');
      for (const line of text.trim().split('\n')) records.push(JSON.parse(line));
    }
    events = [];
    deltas = [];
    logRequests = [];
    metricRequests = [];
    const tracker = new CumulativeTracker();
    const root = run.telemetry?.root ?? '';
    for (const path of listFiles(root)) {
      const m = OTLP_FILE.exec(path);
      assert.ok(m, `unexpected file otlp/${path}`);
      const bytes = readFileSync(join(root, path));
      if (m[1] === 'logs') {
        logRequests.push(JSON.parse(bytes.toString('utf8')));
        const d = decodeOtlp('logs', 'json', bytes);
        assert.ok(d.ok, path);
        const read = interpretClaudeCodeLogs(d.request, { receivedAt: 0 });
        assert.deepEqual(read.counts.unknown, {}, `${path}: events Claude Code does not send`);
        assert.equal(read.counts.notClaudeCode, 0, path);
        events.push(...read.events);
      } else {
        metricRequests.push(JSON.parse(bytes.toString('utf8')));
        const d = decodeOtlp('metrics', 'json', bytes);
        assert.ok(d.ok, path);
        const read = interpretClaudeCodeMetrics(d.request, { receivedAt: 0 }, tracker);
        assert.deepEqual(read.problems, [], path);
        assert.equal(read.counts.duplicate + read.counts.stale, 0, path);
        deltas.push(...read.deltas);
      }
    }
  },
  { timeout: 120_000 },
);
after(() => rmSync(temp, { recursive: true, force: true }));

const pilot = developers().filter((d) => PILOT_TEAMS.includes(d.team));
const pilotEmails = new Set(pilot.map((d) => d.email));
const sessionName = (arn: string) => /assumed-role\/ClaudeCodeDevelopers\/(.+)$/.exec(arn)?.[1];
const apiEvents = () =>
  events.filter((e) => e.kind === 'api_request' || e.kind === 'api_error') as (ClaudeCodeEvent & {
    kind: 'api_request' | 'api_error';
  })[];
/** The stream's message_start / message_stop chunks of a streamed Anthropic record. */
const chunks = (r: Loose) =>
  Array.isArray(r.output?.outputBodyJson) ? r.output.outputBodyJson : [];
const latencyOf = (r: Loose): number =>
  chunks(r).find((c: Loose) => c.type === 'message_stop')?.['amazon-bedrock-invocationMetrics']
    ?.invocationLatency;
const bySession = () => {
  const out = new Map<string, ClaudeCodeEvent[]>();
  for (const e of events) {
    const list = out.get(e.sessionId ?? '') ?? [];
    list.push(e);
    out.set(e.sessionId ?? '', list);
  }
  return out;
};
/** Whether the call of an API event was made in the hours whose log files were never delivered. */
const inMissingHours = (e: ClaudeCodeEvent & { durationMs: number | null }) => {
  const m = JSON.parse(readFileSync(run.truthPath, 'utf8')).discrepancies.missingLogs;
  const dev = pilot.find((d) => d.email === e.identity.userEmail?.value);
  const start = new Date(e.at - (e.durationMs ?? 0)).toISOString();
  return dev?.region === m.region && m.hours.includes(`${start.slice(0, 13)}:00:00Z`);
};

test('the logs, bill and metrics are the same with or without telemetry; the telemetry is deterministic', () => {
  assert.ok(run.telemetry !== null && run.telemetry.files > 0);
  const on = listFiles(dir('on')).filter((p) => !p.startsWith('otlp/') && p !== 'demo-truth.json');
  assert.deepEqual(
    listFiles(dir('off')).filter((p) => p !== 'demo-truth.json'),
    on,
  );
  for (const path of on) {
    assert.ok(
      readFileSync(join(dir('on'), path)).equals(readFileSync(join(dir('off'), path))),
      path,
    );
  }
  assert.equal(
    JSON.parse(readFileSync(join(dir('off'), 'demo-truth.json'), 'utf8')).telemetry,
    undefined,
  );
  const otlp = listFiles(join(dir('on'), 'otlp'));
  assert.equal(otlp.length, run.telemetry.files);
  assert.deepEqual(listFiles(join(dir('again'), 'otlp')), otlp);
  for (const path of otlp) {
    const a = readFileSync(join(dir('on'), 'otlp', path));
    assert.ok(a.equals(readFileSync(join(dir('again'), 'otlp', path))), path);
  }
});

test('each file is an OTLP/JSON export request of Claude Code processes, identity and team in OTEL_RESOURCE_ATTRIBUTES', () => {
  assert.equal(events.length, run.telemetry?.logRecords);
  for (const e of events) {
    assert.ok(e.sessionId, 'session.id');
    assert.ok(
      pilotEmails.has(e.identity.userEmail?.value ?? ''),
      'user.email of a pilot developer',
    );
    assert.match(e.identity.userId?.value ?? '', /^[0-9a-f]{64}$/);
    const dev = pilot.find((d) => d.email === e.identity.userEmail?.value);
    assert.equal(e.dimensions.team?.value, dev?.team);
    assert.match(e.dimensions.cost_center?.value ?? '', /^CC-\d{4}$/);
    assert.ok(e.terminal);
    // 2.1.88 puts custom keys only on the resource; later versions copy them onto every record.
    assert.equal(e.identity.userEmail?.from, e.version === '2.1.88' ? 'resource' : 'record');
  }
  for (const req of logRequests) {
    for (const rl of req.resourceLogs) {
      const keys = rl.resource.attributes.map((a: Loose) => a.key);
      assert.deepEqual(keys.slice(0, 3), ['team', 'cost_center', 'user.email']);
      assert.ok(keys.includes('service.version') && keys.includes('service.name'));
      assert.equal(rl.scopeLogs[0].scope.name, 'com.anthropic.claude_code.events');
      const old = rl.scopeLogs[0].scope.version === '2.1.88';
      for (const r of rl.scopeLogs[0].logRecords) {
        assert.match(r.timeUnixNano, /^\d{19}$/);
        assert.equal(r.body.stringValue, `claude_code.${attr(r, 'event.name')}`);
        for (const a of r.attributes) {
          if (a.key === 'event.sequence') assert.equal(typeof a.value.intValue, 'number');
          else if (old) assert.equal(typeof a.value.stringValue, 'string', `2.1.88 ${a.key}`);
        }
      }
    }
  }
  const versions = new Set(events.map((e) => e.version));
  assert.deepEqual([...versions].sort(), Object.keys(truth.versions).sort());
});

function attr(record: Loose, key: string): Loose {
  const v = record.attributes.find((a: Loose) => a.key === key)?.value;
  return v === undefined ? undefined : Object.values(v)[0];
}

test('every API event is one of its developer’s log records: same call, tokens, model and time', () => {
  const byId = new Map(records.map((r) => [r.requestId, r]));
  const used = new Set<string>();
  let missing = 0;
  for (const e of apiEvents()) {
    let record: Loose;
    if (inMissingHours(e)) {
      // The call was made (and billed), its log file never delivered: the telemetry alone has it.
      if (e.requestId !== null) assert.equal(byId.get(e.requestId), undefined);
      if (e.kind === 'api_request') missing++;
      continue;
    }
    if (e.requestId !== null) {
      record = byId.get(e.requestId);
      assert.ok(record, `the record of ${e.requestId}`);
    } else {
      // No request id (older versions): the one record of this developer with these tokens, just before the event.
      const duration = e.durationMs ?? 0;
      const candidates = records.filter(
        (r) =>
          !used.has(r.requestId) &&
          sessionName(r.identity.arn) === e.identity.userEmail?.value &&
          r.modelId === e.model &&
          Math.abs(Date.parse(r.timestamp) - (e.at - duration)) <= 1000 &&
          (e.kind === 'api_error' ? r.errorCode !== undefined : sameTokens(e, r)),
      );
      assert.equal(candidates.length, 1, `one record for ${e.eventKey}`);
      record = candidates[0];
    }
    assert.ok(!used.has(record.requestId), 'one event per record');
    used.add(record.requestId);
    assert.equal(sessionName(record.identity.arn), e.identity.userEmail?.value);
    const latency = latencyOf(record);
    const took = e.at - Date.parse(record.timestamp);
    if (e.kind === 'api_error') {
      assert.ok(record.errorCode, 'an api_error is an error record');
      continue;
    }
    assert.equal(record.errorCode, undefined);
    assert.ok(sameTokens(e, record), `tokens of ${record.requestId}`);
    // The event is stamped when the response has ended: its call started in the record's second (Bedrock's
    // timestamp has no milliseconds) and took the event's duration, at least the latency Bedrock logged.
    const duration = e.durationMs ?? 0;
    assert.ok(took - duration >= 0 && took - duration < 1000, `${took} ms after, took ${duration}`);
    if (latency !== undefined) assert.ok(duration >= latency && duration <= latency + 100);
    const start = chunks(record).find((c: Loose) => c.type === 'message_start');
    if (e.requestId !== null) {
      // 2.1.3xx names the model the response body named, and splits cache writes as the body does.
      if (start !== undefined) assert.equal(e.model, start.message.model);
      else assert.equal(e.model, responseModel(record.modelId));
      const cc = start?.message.usage.cache_creation;
      if (cc) {
        assert.equal(e.cacheCreation5mTokens, cc.ephemeral_5m_input_tokens);
        assert.equal(e.cacheCreation1hTokens, cc.ephemeral_1h_input_tokens);
      }
    } else assert.equal(e.model, record.modelId);
  }
  assert.ok(missing > 0, 'some calls fall in the missing log hours');
  assert.equal(missing, truth.apiRequests.logsMissing);
  const requests = apiEvents().filter((e) => e.kind === 'api_request').length;
  assert.equal(requests, truth.apiRequests.total);
  assert.equal(requests - missing, truth.apiRequests.logged);
  // The whole two-day period is in the telemetry window: every pilot developer's delivered call is an event.
  const pilotRecords = records.filter((r) => pilotEmails.has(sessionName(r.identity.arn) ?? ''));
  assert.equal(used.size, pilotRecords.length);
});

function sameTokens(e: ClaudeCodeEvent, r: Loose): boolean {
  if (e.kind !== 'api_request') return false;
  return (
    e.inputTokens === r.input.inputTokenCount &&
    e.outputTokens === r.output.outputTokenCount &&
    e.cacheReadTokens === (r.input.cacheReadInputTokenCount ?? 0) &&
    e.cacheCreationTokens === (r.input.cacheWriteInputTokenCount ?? 0)
  );
}

test('sessions are one developer’s, in sequence; prompts group calls; tools run between them', () => {
  const sessions = bySession();
  assert.equal(sessions.size, truth.sessions);
  const spans = new Map<string, [number, number][]>();
  for (const [id, list] of sessions) {
    assert.deepEqual(
      list.map((e) => e.sequence),
      list.map((_, i) => i),
      `${id}: event.sequence counts from 0 in emission order`,
    );
    for (let i = 1; i < list.length; i++) {
      assert.ok((list[i]?.at ?? 0) >= (list[i - 1]?.at ?? 0), `${id}: events in time order`);
    }
    const users = new Set(
      list.map((e) => `${e.identity.userEmail?.value}|${e.identity.userId?.value}`),
    );
    assert.equal(users.size, 1, `${id}: one developer`);
    const email = list[0]?.identity.userEmail?.value ?? '';
    const span: [number, number] = [list[0]?.at ?? 0, list.at(-1)?.at ?? 0];
    spans.set(email, [...(spans.get(email) ?? []), span]);
    const prompts = new Set<string>();
    for (let i = 0; i < list.length; i++) {
      const e = list[i] as ClaudeCodeEvent;
      if (e.kind === 'user_prompt') prompts.add(e.promptId ?? '');
      if (e.event === 'managed_settings_resolved') continue;
      assert.ok(e.promptId !== null && prompts.has(e.promptId), `${e.event} after its user_prompt`);
      if (e.kind !== 'tool_decision' && e.kind !== 'tool_result') continue;
      // A tool runs after a response and before the next request of the same prompt is sent.
      const prev = list.slice(0, i).findLast((x) => x.kind === 'api_request');
      const next = list
        .slice(i + 1)
        .find((x) => x.kind === 'api_request' || x.kind === 'api_error') as
        | (ClaudeCodeEvent & { durationMs: number | null })
        | undefined;
      assert.equal(prev?.promptId, e.promptId);
      assert.equal(next?.promptId, e.promptId, `${e.event} is followed by a call of its prompt`);
      assert.ok(
        e.at < (next?.at ?? 0) - (next?.durationMs ?? 0),
        `${e.event} ends before the next call starts`,
      );
    }
  }
  // A developer's sessions do not overlap, and a new one starts only after an idle gap.
  for (const [email, list] of spans) {
    list.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < list.length; i++) {
      const gap = (list[i]?.[0] ?? 0) - (list[i - 1]?.[1] ?? 0);
      assert.ok(gap > SESSION_IDLE_MS - 5 * 60_000, `${email}: sessions ${gap} ms apart`);
    }
  }
  const toolResults = events.filter((e) => e.kind === 'tool_result').length;
  assert.ok(toolResults > apiEvents().length / 3, 'most calls ask for a tool');
  assert.ok(
    [...sessions.values()].some((l) => l.filter((e) => e.kind === 'user_prompt').length > 2),
  );
});

test('metrics add up to the events: tokens, cost, sessions; one developer exports cumulative', () => {
  const tokenTypes = {
    input: 'inputTokens',
    output: 'outputTokens',
    cacheRead: 'cacheReadTokens',
  } as const;
  for (const [id, list] of bySession()) {
    const requests = list.filter((e) => e.kind === 'api_request');
    const points = deltas.filter((d) => d.sessionId === id);
    const sum = (metric: string, type?: string) =>
      points
        .filter((d) => d.metric === metric && (type === undefined || d.type === type))
        .reduce((n, d) => n + (d.valueType === 'integer' ? d.value : 0n), 0n);
    for (const [type, field] of Object.entries(tokenTypes)) {
      const expected = requests.reduce((n, e) => n + BigInt(e[field]), 0n);
      assert.equal(sum('claude_code.token.usage', type), expected, `${id} ${type}`);
    }
    const writes = requests.reduce((n, e) => n + BigInt(e.cacheCreationTokens), 0n);
    assert.equal(sum('claude_code.token.usage', 'cacheCreation'), writes, `${id} cacheCreation`);
    assert.equal(sum('claude_code.session.count'), 1n, `${id}: one session started`);
    const cost = points
      .filter((d) => d.metric === 'claude_code.cost.usage')
      .reduce((n, d) => n + (d.valueType === 'usd' ? Number(d.value) : 0), 0);
    const reported = requests.reduce((n, e) => n + Number(e.costUsdReported), 0);
    assert.ok(
      Math.abs(cost - reported) < 1e-9,
      `${id}: cost.usage ${cost} = Σ cost_usd ${reported}`,
    );
    // Metrics carry the Bedrock model id that was called.
    for (const d of points.filter((p) => p.metric === 'claude_code.cost.usage')) {
      assert.match(d.model ?? '', /anthropic\.claude-/);
    }
  }
  const temporalities = new Map<string, Set<number>>();
  for (const req of metricRequests) {
    for (const rm of req.resourceMetrics) {
      const email = rm.resource.attributes.find((a: Loose) => a.key === 'user.email').value
        .stringValue;
      const set = temporalities.get(email) ?? new Set<number>();
      for (const m of rm.scopeMetrics[0].metrics) set.add(m.sum.aggregationTemporality);
      temporalities.set(email, set);
    }
  }
  const cumulative = [...temporalities].filter(([, t]) => t.has(2)).map(([email]) => email);
  assert.deepEqual(cumulative, [truth.cumulativeUser.user]);
  assert.ok(deltas.some((d) => d.temporality === 'cumulative' && d.outcome !== 'delta'));
});

test('the truth file describes the sessions it samples', () => {
  assert.equal(events.filter((e) => e.kind === 'api_request').length, truth.apiRequests.total);
  for (const [name, n] of Object.entries(truth.events)) {
    assert.equal(events.filter((e) => e.event === name).length, n, name);
  }
  const sample: SessionTruth[] = truth.sampleSessions;
  assert.ok(sample.length >= 3);
  assert.ok(sample.some((s) => s.requestIds) && sample.some((s) => !s.requestIds));
  for (const s of sample) {
    const list = bySession().get(s.sessionId) ?? [];
    const requests = list.filter((e) => e.kind === 'api_request');
    assert.equal(requests.length, s.requests, s.sessionId);
    assert.equal(list.filter((e) => e.kind === 'api_error').length, s.errors);
    assert.equal(list.filter((e) => e.kind === 'tool_result').length, s.toolCalls);
    assert.equal(list.filter((e) => e.kind === 'user_prompt').length, s.prompts);
    assert.equal(list[0]?.identity.userEmail?.value, s.user);
    assert.equal(new Date(list[0]?.at ?? 0).toISOString(), s.first);
    const tokens = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
    for (const e of requests) {
      tokens.input += e.inputTokens;
      tokens.output += e.outputTokens;
      tokens.cacheRead += e.cacheReadTokens;
      tokens.cacheWrite += e.cacheCreationTokens;
    }
    assert.deepEqual(tokens, {
      input: s.tokens.input,
      output: s.tokens.output,
      cacheRead: s.tokens.cacheRead,
      cacheWrite: s.tokens.cacheWrite5m + s.tokens.cacheWrite1h,
    });
    const reported = requests.reduce((n, e) => n + Number(e.costUsdReported), 0);
    assert.ok(Math.abs(reported - Number(s.clientCostUsd)) < 1e-9, s.sessionId);
    const commits = deltas
      .filter((d) => d.sessionId === s.sessionId && d.metric === 'claude_code.commit.count')
      .reduce((n, d) => n + (d.valueType === 'integer' ? d.value : 0n), 0n);
    assert.equal(commits, BigInt(s.commits), `${s.sessionId} commits`);
    assert.ok(Number(s.costUsd) > 0);
  }
});
