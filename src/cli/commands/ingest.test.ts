import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type IngestSummary, startSummary } from '../../pipeline/index.ts';
import { formatSummary } from './ingest.ts';

const summary = (files: number, logHours: number): IngestSummary =>
  startSummary([
    ...Array.from({ length: files - logHours }, (_, i) => ({ uri: `logs/${i}.json.gz` })),
    ...Array.from({ length: logHours }, (_, i) => ({ uri: `cwlogs://g@2026-03-02T${i}Z` })),
  ]);

describe('the ingest summary names what was read', () => {
  test('files, CloudWatch Logs hours, or both; one of each in the singular', () => {
    const first = (s: IngestSummary) => formatSummary(s).split('\n')[0]?.split(' (')[0];
    assert.equal(first(summary(4, 0)), 'Ingested 4 files');
    assert.equal(first(summary(1, 0)), 'Ingested 1 file');
    assert.equal(first(summary(24, 24)), 'Ingested 24 CloudWatch Logs hours');
    assert.equal(first(summary(1, 1)), 'Ingested 1 CloudWatch Logs hour');
    assert.equal(first(summary(27, 24)), 'Ingested 3 files and 24 CloudWatch Logs hours');
  });
});
