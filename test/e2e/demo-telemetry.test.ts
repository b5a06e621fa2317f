/**
 * The demo organisation's Claude Code telemetry end to end, as `npm start` runs it: `tokenledger demo` writes the
 * logs and the pilot teams' OTLP export files, ingests the logs and sends the files to the OTLP receiver. Then
 * `sessions` lists the Claude Code sessions with their developers; the ledger counts every call once (the telemetry
 * joins its calls' records, and adds a row only for a call whose log was never delivered); api_request events with a
 * request id join exactly their log record, and a session's ledger dollars are those demo-truth.json gives.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseUsd } from '../../src/core/index.ts';
import type { SessionTruth } from '../../src/demo/index.ts';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp-dir.ts';

// biome-ignore lint/suspicious/noExplicitAny: the truth file and JSON outputs are read as the JSON they are
type Loose = any;

/** A Thursday: two busy weekdays, with the missing log hours inside them. */
const NOW = Date.parse('2026-11-12T00:00:00Z');
const tmp = tempDir();
const db = join(tmp.path, 'ledger.duckdb');
let truth: Loose;
let logs: { records: number };
let demoErr: string;

const cli = async (...argv: string[]) => {
  const r = await runCli([...argv, '--db', db], {
    env: {},
    cwd: tmp.path,
    now: NOW,
    placeholders: {},
  });
  assert.equal(r.code, 0, `${argv.join(' ')}: ${r.err}`);
  return r.out;
};
const json = async (...argv: string[]): Promise<Loose[]> => JSON.parse(await cli(...argv));
const SINCE = ['--since', '2026-11-01', '--until', '2026-11-13'];

before(
  async () => {
    const r = await runCli(['demo', '--days', '2', '--seed', '7', '--db', db], {
      env: {},
      cwd: tmp.path,
      now: NOW,
      placeholders: {},
    });
    assert.equal(r.code, 0, r.err);
    demoErr = r.err;
    const file = JSON.parse(
      readFileSync(join(tmp.path, '.tokenledger-demo', 'demo-truth.json'), 'utf8'),
    );
    truth = file.telemetry;
    logs = file.logs;
  },
  { timeout: 180_000 },
);
after(() => tmp.remove());

const sample = (): SessionTruth[] => truth.sampleSessions;

test('demo sends the pilot teams’ telemetry to the receiver; sessions lists them with their developers', async () => {
  assert.match(demoErr, /Claude Code telemetry: \d+ sessions/);
  const sessions = await json('sessions', '--json', '--limit', '10000', ...SINCE);
  assert.equal(sessions.length, truth.sessions);
  assert.ok(
    sessions.every((s) => /@example\.com$/.test(s.user)),
    'every session has its developer',
  );
  for (const s of sample()) {
    const row = sessions.find((x) => x.sessionId === s.sessionId);
    assert.ok(row, `session ${s.sessionId}`);
    assert.equal(row.user, s.user);
    assert.equal(row.requests, s.requests);
    assert.equal(row.toolCalls, s.toolCalls);
    assert.equal(String(row.commits), String(s.commits));
    assert.equal(String(row.pullRequests), String(s.pullRequests));
    assert.ok(Math.abs(Number(row.costReportedUsd) - Number(s.clientCostUsd)) < 1e-9);
  }
});

test('every call counts once: the log records, plus the calls only the telemetry saw; --by session adds up', async () => {
  const bySession = await json('report', '--by', 'session', '--format', 'json', ...SINCE);
  const byTeam = await json('report', '--by', 'team', '--format', 'json', ...SINCE);
  const sum = (rows: Loose[], key: string) => rows.reduce((n, r) => n + Number(r[key] ?? 0), 0);
  const usd = (rows: Loose[]) => rows.reduce((n, r) => n + parseUsd(r.cost_usd), 0n);
  const requests = sum(bySession, 'requests');
  assert.equal(sum(byTeam, 'requests'), requests);
  assert.equal(usd(bySession), usd(byTeam));
  // Telemetry adds a row only for a call whose log file was never delivered (a client-only call, when no record of
  // its model covers that hour): never a second row for a logged call.
  const clientOnly = requests - logs.records;
  assert.ok(
    clientOnly >= 0 && clientOnly <= truth.apiRequests.logsMissing,
    `${clientOnly} rows beyond the ${logs.records} log records; ${truth.apiRequests.logsMissing} calls lost their logs`,
  );
  // Every API request of the telemetry whose log was delivered took its session onto that record.
  const ids = new Set(
    (await json('sessions', '--json', '--limit', '10000', ...SINCE)).map((s) => s.sessionId),
  );
  const joined = bySession.filter((r) => ids.has(r.session));
  assert.equal(
    joined.reduce((n, r) => n + r.requests, 0),
    truth.apiRequests.logged + clientOnly,
  );
  for (const s of sample().filter((x) => x.logsMissing === 0)) {
    const row = bySession.find((r) => r.session === s.sessionId);
    assert.ok(row, `session ${s.sessionId} in the ledger`);
    assert.equal(row.requests, s.requests, `${s.sessionId} requests`);
    assert.equal(row.cost_usd, s.costUsd, `${s.sessionId}: its calls' ledger dollars`);
    assert.equal(row.input_tokens, s.tokens.input);
    assert.equal(row.cache_write_tokens, s.tokens.cacheWrite5m + s.tokens.cacheWrite1h);
  }
});

test('api_request events with a request id join exactly the log record of the same call', async () => {
  const joined = sample().filter((s) => s.sampleRequestId !== null);
  assert.ok(joined.length > 0);
  for (const s of joined) {
    const out = await cli('explain', s.sampleRequestId ?? '');
    assert.match(
      out,
      new RegExp(`session\\s+${s.sessionId}\\s+← telemetry\\.session\\.id@request_id`),
    );
    assert.match(out, new RegExp(`user\\s+${s.user.replaceAll('.', '\\.')}`));
  }
  assert.ok(truth.apiRequests.joinableByRequestId > 0);
  assert.ok(truth.apiRequests.logsMissing > 0, 'some calls are in the telemetry only');
});

// One ledger: a call's telemetry event costs what its joined record costs, whatever the event's own repricing says
// (a version without the 1h cache-write split, a response-body model name, global vs in-Region pricing).
test('sessions prices each call as the ledger prices its record', async () => {
  const sessions = await json('sessions', '--json', '--limit', '10000', ...SINCE);
  for (const s of sample().filter((x) => x.logsMissing === 0)) {
    const row = sessions.find((x) => x.sessionId === s.sessionId);
    assert.equal(row?.costUsd, s.costUsd, s.sessionId);
  }
});
