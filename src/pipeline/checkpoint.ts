/** Per-object ingest checkpoints: `invocation-logs:<uri>` → the object's version and the last committed line. */

export const CHECKPOINT_PREFIX = 'invocation-logs:';

export interface Checkpoint {
  readonly version: string;
  readonly line: number;
  readonly done: boolean;
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
