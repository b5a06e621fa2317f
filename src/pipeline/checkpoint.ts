/** Per-object ingest checkpoints: `invocation-logs:<uri>` → the object's version and the last committed line. */

export const CHECKPOINT_PREFIX = 'invocation-logs:';

export interface Checkpoint {
  readonly version: string;
  readonly line: number;
  readonly done: boolean;
  /** The `--format` the object was read with, when forced to other than auto/ndjson (absent: read as auto). */
  readonly format?: string;
}

/**
 * Whether a checkpoint written by a run with one `--format` holds for a run with another: an object read wrongly
 * (`--format json` on NDJSON: every line rejected) must be read again with the right one, not skipped as done.
 * Auto-detection reads NDJSON as `ndjson` does.
 */
export function sameFormat(cp: Checkpoint, format: string): boolean {
  return cp.format === checkpointFormat(format).format;
}

/** What a checkpoint keeps of a run's `--format`: nothing for auto and ndjson (they read alike), else the format. */
export function checkpointFormat(format: string): { readonly format?: string } {
  return format === 'auto' || format === 'ndjson' ? {} : { format };
}

export function parseCheckpoint(text: string | undefined): Checkpoint | null {
  if (text === undefined) return null;
  try {
    const v = JSON.parse(text) as Checkpoint;
    return typeof v.version === 'string' && typeof v.line === 'number' ? v : null;
  } catch {
    return null;
  }
}
