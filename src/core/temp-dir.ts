import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from './errors.ts';

/**
 * A new directory in the system temp directory (`TMPDIR`) for a run's working files. One that cannot be made
 * (missing, read-only, full) is an error that names TMPDIR and says what to do, not an EACCES stack trace.
 */
export function makeTempDir(prefix: string): string {
  const parent = tmpdir();
  try {
    return mkdtempSync(join(parent, prefix));
  } catch (e: unknown) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).name;
    throw new AppError(
      'core.tmpdir',
      `cannot make a working directory in ${parent} (${code}): set TMPDIR to a writable directory with room`,
      { cause: e },
    );
  }
}
