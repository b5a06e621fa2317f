/**
 * Reads invocation logs from an ObjectStore: which objects are logs (bedrock.md §1.2: skip `data/` bodies and the
 * permission-check marker), and each object as batches of items, resumable from a line number.
 */
import { CWLOGS_SCHEME, type ObjectInfo, type ObjectStore } from '../object-store.ts';
import { type LogBody, openBody, readLines, TruncatedObject } from './lines.ts';
import {
  type Item,
  itemsFromLine,
  itemsFromValue,
  type LogFormat,
  type OtherInput,
  otherInputOfLine,
  otherInputOfValue,
} from './records.ts';

/** Files a user may point at directly or that a directory walk picks up. */
const LOG_FILE = /\.(json|jsonl|ndjson|log|txt)(\.gz)?$|\.gz$/i;
/** A whole JSON document is parsed at once up to this size; larger ones must be NDJSON. */
const MAX_DOCUMENT_BYTES = 256 * 1024 * 1024;

/** True for objects that hold log records; false for body objects, the permission-check marker and other files. */
export function isLogObject(uri: string, listedFrom: string): boolean {
  if (uri === listedFrom) return true; // a file named explicitly is read whatever its name
  if (uri.startsWith(CWLOGS_SCHEME)) return true; // an hour of a CloudWatch Logs log group
  if (
    /\/BedrockModelInvocationLogs\/.*\/data\//.test(uri) ||
    /\/data\/[^/]*_(input|output)\.json(\.gz)?$/.test(uri)
  ) {
    return false;
  }
  if (uri.endsWith('amazon-bedrock-logs-permission-check')) return false;
  return LOG_FILE.test(uri);
}

const LAYOUT_HOUR = /\/BedrockModelInvocationLogs\/[^/]+\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\//;
/** The UTC hour (epoch ms) of an object in Bedrock's S3 layout (`…/<region>/YYYY/MM/DD/HH/…`), else null. */
export function layoutHour(uri: string): number | null {
  const m = LAYOUT_HOUR.exec(uri);
  if (m === null) return null;
  const [y, mo, d, h] = m.slice(1).map(Number) as [number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h);
  return Number.isNaN(t) ? null : t;
}

export async function* listLogObjects(
  store: ObjectStore,
  uri: string,
  signal?: AbortSignal,
): AsyncGenerator<ObjectInfo> {
  for await (const info of store.list(uri, signal)) if (isLogObject(info.uri, uri)) yield info;
}

export interface ReadOptions {
  readonly format: LogFormat;
  /** Lines up to and including this one were committed by an earlier run and are skipped unparsed. */
  readonly afterLine: number;
  readonly batchLines: number;
  readonly onBytes: (n: number) => void;
  readonly signal?: AbortSignal;
  /** The body, when the caller opened it ahead of time (see `openLogObject`). */
  readonly body?: Promise<LogBody>;
}

export interface ItemBatch {
  readonly items: readonly Item[];
  /** The last line this batch covers; a checkpoint here resumes correctly. */
  readonly lastLine: number;
  /**
   * The object is another input tokenledger reads (a CUR export, saved CloudWatch metrics, OTLP): its first line
   * or document says so. Its only batch, with no items: it is skipped whole rather than rejected line by line.
   */
  readonly otherInput?: OtherInput;
}

export async function* readLogObject(
  store: ObjectStore,
  info: ObjectInfo,
  opts: ReadOptions,
): AsyncGenerator<ItemBatch> {
  let items: Item[] = [];
  let lastLine = opts.afterLine;
  let document: string[] | null = opts.format === 'json' ? [] : null;
  let documentBytes = 0;
  let batchStart = opts.afterLine;
  try {
    const body = await (opts.body ?? openLogObject(store, info, opts.onBytes, opts.signal));
    for await (const [text, line] of readLines(body, opts.onBytes)) {
      if (document !== null) {
        document.push(text);
        documentBytes += text.length + 1;
        if (documentBytes > MAX_DOCUMENT_BYTES) throw new DocumentTooLarge();
        continue;
      }
      if (line <= opts.afterLine) continue;
      if (line === 1 && opts.format !== 'ndjson' && startsDocument(text)) {
        document = [text];
        continue;
      }
      const before = items.length;
      itemsFromLine(text, info.uri, line, items);
      if (line === 1 && items.length > before && items.every((i) => 'reject' in i)) {
        const other = otherInputOfLine(text);
        if (other !== null) {
          yield { items: [], lastLine: Number.MAX_SAFE_INTEGER, otherInput: other };
          return;
        }
      }
      lastLine = line;
      if (line - batchStart >= opts.batchLines) {
        yield { items, lastLine };
        items = [];
        batchStart = line;
      }
    }
  } catch (e: unknown) {
    // I/O and access errors stop the run (nothing is checkpointed, a rerun resumes); bad bytes are data problems.
    if (!(e instanceof DocumentTooLarge) && !isDataError(e)) throw e;
    if (e instanceof DocumentTooLarge) {
      items.push(
        rejectAt(
          info.uri,
          1,
          `JSON document larger than ${MAX_DOCUMENT_BYTES} bytes; write it as NDJSON`,
        ),
      );
      yield { items, lastLine: Number.MAX_SAFE_INTEGER };
      return;
    }
    // A truncated gzip member or a read error mid-file: keep what was read, say where it stopped.
    items.push(
      rejectAt(
        info.uri,
        lastLine + 1,
        `file unreadable after line ${lastLine}: ${(e as Error).message}`,
      ),
    );
    yield { items, lastLine: Number.MAX_SAFE_INTEGER };
    return;
  }
  if (document !== null) {
    const text = document.join('\n');
    document = null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err: unknown) {
      items.push(
        rejectAt(
          info.uri,
          1,
          `neither NDJSON nor a JSON document (${(err as Error).message})`,
          text,
        ),
      );
      yield { items, lastLine: Number.MAX_SAFE_INTEGER };
      return;
    }
    const other = otherInputOfValue(value);
    if (other !== null) {
      yield { items: [], lastLine: Number.MAX_SAFE_INTEGER, otherInput: other };
      return;
    }
    itemsFromValue(value, { uri: info.uri, line: 1 }, '', items);
    yield { items, lastLine: Number.MAX_SAFE_INTEGER };
    return;
  }
  yield { items, lastLine };
}

class DocumentTooLarge extends Error {}

/** A corrupt or truncated gzip stream (zlib codes) or a truncated whole object: the object's content is bad. */
function isDataError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return e instanceof TruncatedObject || (typeof code === 'string' && code.startsWith('Z_'));
}

/** Starts reading an object; `readLogObject` takes the promise as `body`. Errors surface there, as rejects. */
export async function openLogObject(
  store: ObjectStore,
  info: ObjectInfo,
  onBytes: (n: number) => void,
  signal?: AbortSignal,
): Promise<LogBody> {
  return openBody(await store.read(info.uri, signal), info.size, onBytes);
}

/**
 * A first line that opens a pretty-printed JSON document (`{`, `[`, `{"events": [`) rather than holding a whole
 * record. A truncated NDJSON record ends mid-value, so it is not mistaken for one.
 */
function startsDocument(text: string): boolean {
  const t = text.trim();
  return t === '{' || t === '[' || (/^[[{]/.test(t) && /[[{,:]$/.test(t));
}

function rejectAt(uri: string, line: number, reason: string, text = ''): Item {
  return { reject: { source: { uri, line }, reason, excerpt: text.slice(0, 160) } };
}
