/** A working directory in TMPDIR, or an error that names TMPDIR and what to do. */
import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import { test } from 'node:test';
import { AppError } from './errors.ts';
import { makeTempDir } from './temp-dir.ts';

test('made in TMPDIR; a TMPDIR that cannot take it is an AppError naming it', () => {
  const dir = makeTempDir('tl-temp-dir-test-');
  assert.ok(statSync(dir).isDirectory());
  rmSync(dir, { recursive: true });
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = '/nonexistent-tokenledger-tmp';
  try {
    assert.throws(
      () => makeTempDir('x-'),
      (e: unknown) =>
        e instanceof AppError &&
        e.code === 'core.tmpdir' &&
        /in \/nonexistent-tokenledger-tmp \(ENOENT\): set TMPDIR/.test(e.message),
    );
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
});
