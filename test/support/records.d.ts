/** Builds AttributedRecords for store and pipeline tests without going through a source. */
import { type AttributedRecord } from '../../src/core/index.ts';
export declare function makeRecord(over?: {
  id?: string;
  at?: string;
  team?: string;
  user?: string;
  model?: string;
  cost?: bigint | null;
  input?: number;
  output?: number;
  errorCode?: string | null;
  metadata?: Record<string, string>;
  region?: string;
}): AttributedRecord;
