/**
 * The main job over real files: the S3 layout (gzip NDJSON, `data/` bodies and the permission-check marker
 * skipped), re-ingest as a no-op, changed files re-read without double counting, the same records arriving via
 * S3 and CloudWatch counted once, rejects written with file:line, and S3 through the real AWS SDK.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { S3Client } from '@aws-sdk/client-s3';
import { startFakeS3 } from '../../test/support/fake-s3.ts';
import { tempDir } from '../../test/support/temp-dir.ts';
import { formatSummary } from '../cli/commands/ingest.ts';
import { AppError } from '../core/index.ts';
import { openRuntime, type Runtime } from '../runtime.ts';
import type { ObjectStore } from '../sources/index.ts';
import { createS3ObjectStore } from '../sources/s3-object-store.ts';
import { CHECKPOINT_PREFIX } from './checkpoint.ts';
import { type IngestOptions, type IngestSummary, ingest } from './ingest.ts';

const testdata = join(import.meta.dirname, '..', 'sources', 'invocation-logs', 'testdata');
const operations = readFileSync(join(testdata, 'operations.jsonl'), 'utf8');
const tmp = tempDir();
after(() => tmp.remove());
let n = 0;

async function runtime(): Promise<Runtime> {
  return openRuntime({
    db: join(tmp.path, `ledger-${n++}.duckdb`),
    configPath: join(testdata, 'tokenledger.yaml'),
    env: {},
  });
}

function opts(paths: string[], over: Partial<IngestOptions> = {}): IngestOptions {
  return { paths, format: 'auto', rejectsFile: join(tmp.path, `rejects-${n++}.jsonl`), ...over };
}

const run = (rt: Runtime, o: IngestOptions) => ingest(rt, o);

/** Writes the operations records as an S3-layout tree: two hourly gzip objects, a body object, the marker. */
function s3Layout(root: string): string {
  const lines = operations.trim().split('\n');
  const hour = join(
    root,
    'AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2026/03/02/10',
  );
  mkdirSync(join(hour, 'data'), { recursive: true });
  writeFileSync(
    join(hour, '20260302T101500Z_0a1b2c3d4e5f6a7b.json.gz'),
    gzipSync(`${lines.slice(0, 6).join('\n')}\n`),
  );
  writeFileSync(
    join(hour, '20260302T102000Z_1a1b2c3d4e5f6a7b.json.gz'),
    gzipSync(`${lines.slice(6).join('\n')}\n`),
  );
  writeFileSync(
    join(hour, 'data', '0b7c2a1e-0001-4000-8000-000000000002_input.json.gz'),
    gzipSync('{"messages":[]}'),
  );
  writeFileSync(
    join(
      root,
      'AWSLogs/111122223333/BedrockModelInvocationLogs/amazon-bedrock-logs-permission-check',
    ),
    'ok',
  );
  return root;
}

describe('ingest', () => {
  test('reads the S3 layout, skipping body objects and the permission-check marker', async () => {
    const root = s3Layout(join(tmp.path, 'layout-a'));
    const rt = await runtime();
    try {
      const s = await run(rt, opts([root]));
      assert.equal(s.files, 2);
      assert.equal(s.read, 11);
      assert.equal(s.inserted, 11);
      assert.equal(s.rejected, 0);
      assert.equal(s.unpriced, 1);
      const again = await run(rt, opts([root]));
      assert.deepEqual([again.filesSkipped, again.read, again.inserted], [2, 0, 0]);
    } finally {
      await rt.close();
    }
  });

  test('a changed file is re-read; only its new record is inserted', async () => {
    const root = join(tmp.path, 'changing');
    mkdirSync(root);
    const file = join(root, 'a.jsonl');
    writeFileSync(file, operations);
    const rt = await runtime();
    try {
      assert.equal((await run(rt, opts([root]))).inserted, 11);
      const extra = JSON.parse(operations.split('\n')[0] ?? '{}') as Record<string, unknown>;
      extra.requestId = 'added-later-0000-4000-8000-000000000099';
      appendFileSync(file, `${JSON.stringify(extra)}\n`);
      const s = await run(rt, opts([root]));
      assert.deepEqual([s.read, s.inserted, s.duplicates], [12, 1, 11]);
    } finally {
      await rt.close();
    }
  });

  test('a file read with a wrong --format is read again with the right one, not skipped as done', async () => {
    const root = join(tmp.path, 'wrong-format');
    mkdirSync(root);
    writeFileSync(join(root, 'a.jsonl'), operations);
    const rt = await runtime();
    try {
      const wrong = await run(rt, opts([root], { format: 'json' }));
      assert.equal(wrong.inserted, 0);
      assert.equal(wrong.rejected, 1);
      const right = await run(rt, opts([root]));
      assert.deepEqual([right.filesSkipped, right.inserted], [0, 11]);
      const again = await run(rt, opts([root], { format: 'ndjson' }));
      assert.deepEqual([again.filesSkipped, again.inserted], [1, 0], 'ndjson reads as auto does');
    } finally {
      await rt.close();
    }
  });

  test('a path that holds no log file is named in the summary, not passed over in silence', async () => {
    const root = join(tmp.path, 'nothing-here');
    mkdirSync(root);
    const rt = await runtime();
    try {
      const s = await run(rt, opts([root]));
      assert.equal(s.files, 0);
      assert.deepEqual(s.warnings, [
        `${root} holds no invocation-log files: check the path (S3 prefixes are case-sensitive)`,
      ]);
    } finally {
      await rt.close();
    }
  });

  test('the same calls via S3 files and a CloudWatch export count once', async () => {
    const root = join(tmp.path, 'both');
    mkdirSync(root);
    const lines = operations.trim().split('\n');
    writeFileSync(join(root, 's3.jsonl.gz'), gzipSync(operations));
    const events = lines.map((message, i) => ({
      timestamp: i,
      message,
      logStreamName: 'aws/bedrock/modelinvocations',
    }));
    writeFileSync(join(root, 'cwl.json'), JSON.stringify({ events }, null, 2));
    const rt = await runtime();
    try {
      const s = await run(rt, opts([root]));
      assert.deepEqual([s.read, s.inserted, s.duplicates], [22, 11, 11]);
    } finally {
      await rt.close();
    }
  });

  test('malformed lines go to the rejects file and table with file:line and reason', async () => {
    const root = join(tmp.path, 'bad');
    mkdirSync(root);
    copyFileSync(join(testdata, 'malformed.jsonl'), join(root, 'malformed.jsonl'));
    const rt = await runtime();
    const o = opts([root]);
    try {
      const s = await run(rt, o);
      assert.deepEqual([s.read, s.inserted, s.rejected], [2, 2, 7]);
      assert.equal(s.rejectsFile, o.rejectsFile);
      const rejects = readFileSync(o.rejectsFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { file: string; line: number; reason: string });
      assert.deepEqual(
        rejects.map((r) => r.line),
        [2, 3, 4, 5, 6, 7, 9],
      );
      assert.ok(rejects.every((r) => r.file.endsWith('malformed.jsonl')));
      assert.match(rejects[3]?.reason ?? '', /missing modelId/);
      assert.equal((await rt.store.rejects(100)).length, 7);
    } finally {
      await rt.close();
    }
  });

  test('files of other inputs (CUR, CloudWatch metrics, OTLP) are named with their command, not rejected line by line', async () => {
    const root = join(tmp.path, 'mixed');
    const src = join(import.meta.dirname, '..', 'sources');
    const cur = join(import.meta.dirname, 'testdata', 'cur');
    const copies: [string, string][] = [
      [join(testdata, 'operations.jsonl'), 'logs/a.jsonl'],
      [join(testdata, 'malformed.jsonl'), 'logs/malformed.jsonl'],
      [
        join(cur, 'cur2/tokenledger/data/BILLING_PERIOD=2026-03/tokenledger-00001.csv.gz'),
        'cur/data/part-00001.csv.gz',
      ],
      [
        join(cur, 'legacy/report/20260301-20260401/report-Manifest.json'),
        'cur/report-Manifest.json',
      ],
      [join(src, 'cloudwatch/testdata/pages.jsonl'), 'cloudwatch/pages.jsonl'],
      [join(src, 'cloudwatch/testdata/cli-merged.json'), 'cloudwatch/cli-merged.json'],
      [join(src, 'otlp/testdata/claude-code/metrics-delta-2.1.138.json'), 'otlp/metrics.json'],
    ];
    for (const [from, to] of copies) {
      mkdirSync(join(root, to, '..'), { recursive: true });
      copyFileSync(from, join(root, to));
    }
    // A log file whose first line is broken is still a log file: its lines are rejected and the rest read.
    writeFileSync(join(root, 'logs/broken-first.jsonl'), `{"schemaType": "ModelInv\n${operations}`);
    const rt = await runtime();
    try {
      const s = await run(rt, opts([root]));
      const kinds = s.otherInputs.map((o) => `${o.uri.slice(root.length + 1)} ${o.kind}`).sort();
      assert.deepEqual(kinds, [
        'cloudwatch/cli-merged.json cloudwatch-metrics',
        'cloudwatch/pages.jsonl cloudwatch-metrics',
        'cur/data/part-00001.csv.gz cur',
        'cur/report-Manifest.json cur',
        'otlp/metrics.json otlp',
      ]);
      assert.deepEqual([s.read, s.inserted, s.duplicates, s.rejected], [24, 13, 11, 8]);
      const rejected = new Set(
        (await rt.store.rejects(100)).map((r) => r.uri.slice(root.length + 1)),
      );
      assert.deepEqual([...rejected].sort(), ['logs/broken-first.jsonl', 'logs/malformed.jsonl']);
      const text = formatSummary(s);
      assert.match(text, /\n {2}not logs +5 +files of other inputs, skipped whole:\n/);
      assert.match(text, /\n +2 +CUR export → tokenledger ingest-cur PATH {2}\(e\.g\. /);
      assert.match(text, /\n +1 +OTLP telemetry → POST it to tokenledger collect/);
      // They are named again on the next run (not marked done); the logs are unchanged and skipped.
      const again = await run(rt, opts([root]));
      assert.deepEqual([again.otherInputs.length, again.filesSkipped, again.inserted], [5, 3, 0]);
    } finally {
      await rt.close();
    }
  });

  test('a truncated gzip object keeps the records before the damage and says where it stopped', async () => {
    const root = join(tmp.path, 'truncated');
    mkdirSync(root);
    const whole = gzipSync(
      operations.repeat(40).replace(/"requestId":"([^"]+)"/g, () => `"requestId":"t-${n++}"`),
    );
    writeFileSync(join(root, 'cut.json.gz'), whole.subarray(0, Math.floor(whole.length * 0.6)));
    const rt = await runtime();
    try {
      const s = await run(rt, opts([root]));
      assert.ok(s.inserted > 100 && s.inserted < 440, `inserted ${s.inserted}`);
      const reasons = (await rt.store.rejects(10)).map((r) => r.reason).join('\n');
      assert.match(reasons, /unreadable after line \d+/);
    } finally {
      await rt.close();
    }
  });

  test('a ledger write that fails ends the ingest with that error (test/e2e/ingest-memory.test.ts: as a process)', async () => {
    const rt = await runtime();
    try {
      const store = Object.create(rt.store) as Runtime['store'];
      Object.defineProperty(store, 'writeEncodedUsage', {
        value: () => Promise.reject(new Error('Out of Memory Error: could not allocate block')),
      });
      Object.defineProperty(store, 'bulkLogs', { value: undefined });
      await assert.rejects(
        ingest(
          { ...rt, store },
          opts([s3Layout(join(tmp.path, `fail-${n++}`))], { batchLines: 2 }),
        ),
        /Out of Memory/,
      );
    } finally {
      await rt.close();
    }
  });

  test('--since/--until keep the S3-layout files of those hours; files outside the layout are read whole', async () => {
    const root = s3Layout(join(tmp.path, 'layout-window'));
    const earlier = join(
      root,
      'AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2026/03/01/09',
    );
    mkdirSync(earlier, { recursive: true });
    const record = JSON.parse(operations.split('\n')[0] as string) as Record<string, unknown>;
    writeFileSync(
      join(earlier, '20260301T091500Z_aa.json.gz'),
      gzipSync(
        `${JSON.stringify({ ...record, requestId: 'earlier-1', timestamp: '2026-03-01T09:15:00Z' })}\n`,
      ),
    );
    const loose = join(tmp.path, 'window-loose.jsonl');
    writeFileSync(loose, `${JSON.stringify({ ...record, requestId: 'loose-1' })}\n`);
    const count = async (over: Partial<IngestOptions>) => {
      const rt = await runtime();
      try {
        const s = await run(rt, opts([root, loose], over));
        return [s.files, s.read];
      } finally {
        await rt.close();
      }
    };
    assert.deepEqual(await count({}), [4, 13]);
    // From 10:00 on the 2nd: the two files of that hour, and the loose file.
    assert.deepEqual(await count({ since: Date.parse('2026-03-02T10:00:00Z') }), [3, 12]);
    // An hour counts if the window touches it: 10:59 still takes the 10:00 folder.
    assert.deepEqual(await count({ since: Date.parse('2026-03-02T10:59:00Z') }), [3, 12]);
    assert.deepEqual(await count({ until: Date.parse('2026-03-02T10:00:00Z') }), [2, 2]);
  });

  test('an object the store refuses for good stops the run at once, not after reading every object again', async () => {
    const lines = operations.trim().split('\n');
    const parts = Array.from({ length: 8 }, (_, i) => ({
      uri: `mem://denied/part-${i}.json`,
      body: `${lines[i % lines.length]}\n`,
    }));
    let reads = 0;
    const store: ObjectStore = {
      async *list() {
        for (const p of parts) yield { uri: p.uri, size: p.body.length, version: 'v1' };
      },
      read: async (uri) => {
        reads++;
        if (uri.endsWith('part-3.json'))
          throw new AppError('sources.s3_access_denied', `access denied to read ${uri}`);
        return Readable.from([Buffer.from(parts.find((p) => p.uri === uri)?.body ?? '')]);
      },
    };
    const tmpdirBefore = process.env.TMPDIR;
    process.env.TMPDIR = tmp.path;
    const rt = await runtime();
    try {
      await assert.rejects(
        run({ ...rt, objects: store }, opts(['mem://denied/'], { bulkMinBytes: 0 })),
        (e: unknown) => e instanceof AppError && e.code === 'sources.s3_access_denied',
      );
      assert.ok(reads <= parts.length, `${reads} reads of ${parts.length} objects`);
    } finally {
      if (tmpdirBefore === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmpdirBefore;
      await rt.close();
    }
  });

  test('an object store unavailable for now: its group is read again after a pause, not split; still unavailable, the run stops', async () => {
    const lines = operations.trim().split('\n');
    const parts = Array.from({ length: 8 }, (_, i) => ({
      uri: `mem://throttled/part-${i}.json`,
      body: `${lines[i % lines.length]}\n`,
    }));
    /** `failures` reads of `failing` objects are refused as throttled. */
    const ingestWith = async (failures: number, failing: (uri: string) => boolean) => {
      let reads = 0;
      let failed = 0;
      const store: ObjectStore = {
        async *list() {
          for (const p of parts) yield { uri: p.uri, size: p.body.length, version: 'v1' };
        },
        read: async (uri) => {
          reads++;
          if (failing(uri) && failed < failures) {
            failed++;
            throw new AppError(
              'sources.s3_unavailable',
              `S3 is unavailable to read ${uri} (SlowDown)`,
              {
                retryable: true,
              },
            );
          }
          return Readable.from([Buffer.from(parts.find((p) => p.uri === uri)?.body ?? '')]);
        },
      };
      const rt = await runtime();
      try {
        const summary = await run(
          { ...rt, objects: store },
          opts(['mem://throttled/'], { bulkMinBytes: 0 }),
        ).catch((e: unknown) => e);
        return { summary, reads };
      } finally {
        await rt.close();
      }
    };
    const tmpdirBefore = process.env.TMPDIR;
    process.env.TMPDIR = tmp.path;
    try {
      // Throttled once: the group is read again whole, every record once.
      const once = await ingestWith(1, (uri) => uri.endsWith('part-3.json'));
      assert.ok(!(once.summary instanceof Error), String(once.summary));
      assert.equal((once.summary as IngestSummary).inserted, parts.length);
      assert.equal((once.summary as IngestSummary).bulkFiles, parts.length, 'none went row by row');
      assert.equal(once.reads, 2 * parts.length);
      // The bucket throttled throughout: the run stops with that error after its retries, each object read three
      // times (halving the group down to single files read every object about log2(n) + 2 times).
      const always = await ingestWith(Number.POSITIVE_INFINITY, () => true);
      assert.ok(
        always.summary instanceof AppError && always.summary.code === 'sources.s3_unavailable',
      );
      assert.equal(always.reads, 3 * parts.length);
    } finally {
      if (tmpdirBefore === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmpdirBefore;
    }
  });

  test('remote objects on the DuckDB path: a failed copy takes its group’s other copies with it; abort rejects', async () => {
    const lines = operations.trim().split('\n');
    const objectsOf = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        uri: `mem://logs/part-${i}.json`,
        body: `${lines.slice(i * 3, i * 3 + 3).join('\n')}\n`,
      }));
    const copies = join(tmp.path, 'mem-copies');
    mkdirSync(copies, { recursive: true });
    const inCopies = () =>
      readdirSync(copies).flatMap((d) => readdirSync(join(copies, d)).map((f) => `${d}/${f}`));
    const remote = (
      parts: { uri: string; body: string }[],
      onRead: (uri: string, nth: number) => void,
    ): ObjectStore => {
      const reads = new Map<string, number>();
      return {
        async *list() {
          for (const p of parts) yield { uri: p.uri, size: p.body.length, version: 'v1' };
        },
        read: async (uri) => {
          const nth = (reads.get(uri) ?? 0) + 1;
          reads.set(uri, nth);
          onRead(uri, nth);
          return Readable.from([Buffer.from(parts.find((p) => p.uri === uri)?.body ?? '')]);
        },
      };
    };
    const tmpdirBefore = process.env.TMPDIR;
    process.env.TMPDIR = copies;
    const rt = await runtime();
    try {
      // part-1 fails once: its group's copies of part-0 and part-2 are gone before it is read again.
      let leftover: string[] | null = null;
      const flaky = remote(objectsOf(3), (uri, nth) => {
        if (uri.endsWith('part-1.json') && nth === 1) throw new Error('connection reset');
        if (uri.endsWith('part-1.json') && nth === 2) leftover = inCopies();
      });
      const s = await run({ ...rt, objects: flaky }, opts(['mem://logs/'], { bulkMinBytes: 0 }));
      assert.deepEqual([s.read, s.inserted], [9, 9]);
      assert.ok(leftover !== null, 'part-1 was read again');
      assert.deepEqual(
        (leftover as string[]).filter((f) => /\/(0|2)\.json$/.test(f)),
        [],
        `the first copies were deleted: ${leftover}`,
      );
      assert.deepEqual(inCopies(), []);

      // A TMPDIR that cannot take the copies (here: the copy's stream fails with ENOSPC, as a full disk makes it):
      // every record still goes in (row by row, or copied again when the group is split), and the summary says so.
      const full = remote(objectsOf(3), (_uri, nth) => {
        if (nth === 1)
          throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      });
      const db3 = await runtime();
      try {
        const f = await run({ ...db3, objects: full }, opts(['mem://logs/'], { bulkMinBytes: 0 }));
        assert.deepEqual([f.read, f.inserted], [9, 9]);
        assert.equal(f.warnings.length, 1);
        assert.match(f.warnings[0] as string, /copying S3 objects to .* failed \(ENOSPC\)/);
      } finally {
        await db3.close();
      }

      // An object listed, then gone when read (a lifecycle rule expired it): skipped with a warning on both paths,
      // the rest stored; not marked done, so a later run would read it should it come back.
      for (const bulkMinBytes of [0, 1e9]) {
        const gone = remote(objectsOf(3), (uri) => {
          if (uri.endsWith('part-1.json'))
            throw new AppError('sources.gone', `S3 object ${uri} was listed but is gone`);
        });
        const db4 = await runtime();
        try {
          const g = await run({ ...db4, objects: gone }, opts(['mem://logs/'], { bulkMinBytes }));
          assert.deepEqual(
            [g.read, g.inserted, g.rejected],
            [6, 6, 0],
            `bulkMinBytes ${bulkMinBytes}`,
          );
          assert.deepEqual(g.warnings, [
            'S3 object mem://logs/part-1.json was listed but is gone: skipped',
          ]);
          const again = await run(
            { ...db4, objects: remote(objectsOf(3), () => {}) },
            opts(['mem://logs/'], { bulkMinBytes }),
          );
          assert.deepEqual(
            [again.read, again.inserted],
            [3, 3],
            'the skipped object is read when it is back',
          );
        } finally {
          await db4.close();
        }
      }

      // An abort during the copies rejects the ingest instead of sending the files row by row.
      const abort = new AbortController();
      const aborting = remote(objectsOf(3), (uri) => {
        if (uri.endsWith('part-1.json')) abort.abort();
      });
      const db2 = await runtime();
      try {
        await assert.rejects(
          run(
            { ...db2, objects: aborting },
            opts(['mem://logs/'], { bulkMinBytes: 0, signal: abort.signal }),
          ),
          { name: 'AbortError' },
        );
      } finally {
        await db2.close();
      }
    } finally {
      if (tmpdirBefore === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmpdirBefore;
      await rt.close();
    }
  });

  test('an object whose lines can come back in another order is read again from its start, not resumed', async () => {
    const body = `${operations.trim().split('\n').slice(0, 3).join('\n')}\n`;
    for (const resumable of [undefined, false] as const) {
      const rt = await runtime();
      try {
        const store: ObjectStore = {
          async *list() {
            yield {
              uri: 'mem://hour',
              size: body.length,
              version: 'v1',
              ...(resumable === false ? { resumable } : {}),
            };
          },
          read: async () => Readable.from([Buffer.from(body)]),
        };
        // An earlier run committed its first line, then stopped.
        await rt.store.writeUsage({
          records: [],
          rejects: [],
          checkpoints: [
            {
              key: `${CHECKPOINT_PREFIX}mem://hour`,
              value: JSON.stringify({ version: 'v1', line: 1, done: false }),
            },
          ],
        });
        const s = await run({ ...rt, objects: store }, opts(['mem://hour'], { bulk: false }));
        assert.equal(s.read, resumable === false ? 3 : 2, `resumable ${resumable}`);
      } finally {
        await rt.close();
      }
    }
  });

  test('s3://bucket/prefix through the real AWS SDK client against a local S3', async () => {
    const s3root = join(tmp.path, 's3');
    s3Layout(join(s3root, 'acme-logs', 'bedrock'));
    const fake = await startFakeS3({ root: s3root });
    const rt = await runtime();
    try {
      const client = new S3Client({
        region: 'us-east-1',
        endpoint: fake.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      });
      const objects = createS3ObjectStore({ client });
      const s = await ingest({ ...rt, objects }, opts(['s3://acme-logs/bedrock/AWSLogs/']));
      assert.deepEqual([s.files, s.read, s.inserted], [2, 11, 11]);
      assert.ok(fake.requests.some((r) => r.includes('list-type=2')));
    } finally {
      await rt.close();
      await fake.close();
    }
  });
});
