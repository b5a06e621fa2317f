/**
 * `sessions` output: the tables fit 100 columns even with long ids and addresses, tens of thousands of tool calls and
 * a four-figure session; csv and json carry every field, the full session id and exact amounts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SessionSummary, UserSummary } from '../../store/index.ts';
import { metricOnlyNote, renderSessions, renderUsers } from './sessions.ts';

const session: SessionSummary = {
  sessionId: 'e6dd930e-c97b-47a3-b3c0-930675094417',
  user: 'margaret.hughes-wellington@engineering.example.com',
  first: Date.parse('2026-11-20T13:44:13.242Z'),
  last: Date.parse('2026-11-21T01:03:35.885Z'),
  requests: 123_456,
  tokens: 98_765_432_100n,
  costPicos: 1_234_567_890_123_456n,
  unpricedRequests: 2,
  costReportedUsd: '11000.123',
  toolCalls: 45_678,
  commits: 2n,
  pullRequests: 56n,
  toolAccepts: 400,
  toolRejects: 12,
  activeMs: 36_000_000,
  activeUserMs: 20_000_000,
  activeCliMs: 16_000_000,
  idleMs: 4_762_643,
  costPerCommitPicos: 617_283_945_061_728n,
  costPerPullRequestPicos: 22_045_855_180_776_000n,
  costPerActiveHourPicos: 123_456_789_012_346n,
};

const user: UserSummary = {
  user: session.user,
  sessions: 1234,
  requests: session.requests,
  tokens: session.tokens,
  costPicos: session.costPicos,
  unpricedRequests: 2,
  toolCalls: session.toolCalls,
  toolAccepts: 400,
  toolRejects: 12,
  toolAcceptRate: 400 / 412,
  commits: session.commits,
  pullRequests: session.pullRequests,
  activeMs: session.activeMs,
  costPerCommitPicos: session.costPerCommitPicos,
  costPerPullRequestPicos: session.costPerPullRequestPicos,
  costPerActiveHourPicos: session.costPerActiveHourPicos,
};

const widest = (text: string) => Math.max(...text.split('\n').map((l) => [...l].length));

describe('sessions output', () => {
  test('the tables fit 100 columns', () => {
    const sessions = renderSessions([session, { ...session, sessionId: 'short' }], 'table');
    assert.ok(widest(sessions) <= 100, sessions);
    assert.match(sessions, /^e6dd930e?… /m);
    assert.match(sessions, /^short {2}/m);
    const users = renderUsers([user], 'table');
    assert.ok(widest(users) <= 100, users);
  });

  test('the note on sessions that sent only metrics fits 100 columns', () => {
    for (const line of metricOnlyNote(12_345).split('\n')) assert.ok(line.length <= 100, line);
    assert.match(
      metricOnlyNote(1),
      /^\n1 Claude Code session in this range sent metrics but no API-request events: not listed\./,
    );
  });

  test('csv and json carry every field, the full id and exact amounts', () => {
    const [json] = JSON.parse(renderSessions([session], 'json')) as Record<string, unknown>[];
    assert.ok(json !== undefined);
    const [header, row] = renderSessions([session], 'csv').split('\n');
    assert.equal(header, Object.keys(json).join(','));
    assert.equal(
      row,
      Object.values(json)
        .map((v) => (v === null ? '' : String(v)))
        .join(','),
    );
    assert.deepEqual(
      [json.sessionId, json.costUsd, json.idleMs, json.tokens],
      [session.sessionId, '1234.567890123456', 4_762_643, '98765432100'],
    );
    const [u] = JSON.parse(renderUsers([user], 'json')) as Record<string, unknown>[];
    assert.ok(u !== undefined);
    assert.equal(renderUsers([user], 'csv').split('\n')[0], Object.keys(u).join(','));
    // No rows: the csv header alone.
    assert.equal(renderSessions([], 'csv'), header);
  });
});
