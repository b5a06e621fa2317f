/**
 * Bytes → lines, streaming and in constant memory: optional gunzip (detected by magic bytes, not by name), UTF-8
 * decoding across chunk boundaries, CRLF tolerated. Counts compressed bytes for progress.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { constants, createGunzip, gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);
/** Objects up to this size are read whole and gunzipped in one call: Bedrock delivers many small files. */
const WHOLE_OBJECT_BYTES = 1024 * 1024;

async function* withFirstChunk(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  for (;;) {
    const n = await rest.next();
    if (n.done) return;
    yield n.value;
  }
}

/** An object ready to be split into lines: small objects are read whole and decompressed in one call. */
export type LogBody =
  | { readonly text: string; readonly truncated: string | null }
  | { readonly stream: Readable };

/**
 * Opens an object's body. Small objects (Bedrock delivers many) are read whole and gunzipped in one call — this is
 * what the ingest prefetches, several objects ahead, so object-store latency overlaps parsing.
 */
export async function openBody(
  raw: Readable,
  size: number,
  onBytes: (n: number) => void,
): Promise<LogBody> {
  if (size > WHOLE_OBJECT_BYTES) return { stream: raw };
  const chunks: Buffer[] = [];
  for await (const chunk of raw as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    onBytes(chunk.length);
  }
  const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b)
    return { text: bytes.toString('utf8'), truncated: null };
  try {
    // One large output chunk instead of the 16 KB default avoids concatenating hundreds of small buffers.
    const chunkSize = Math.min(64 * 1024 * 1024, Math.max(64 * 1024, bytes.length * 8));
    return { text: (await gunzipAsync(bytes, { chunkSize })).toString('utf8'), truncated: null };
  } catch (e: unknown) {
    // A truncated or corrupt gzip object: keep what decompresses, and say where it stopped.
    const partial = await gunzipAsync(bytes, { finishFlush: constants.Z_SYNC_FLUSH }).catch(() =>
      Buffer.alloc(0),
    );
    return { text: partial.toString('utf8'), truncated: (e as Error).message };
  }
}

/** The object's gzip stream ended early or is corrupt; the lines before the damage were yielded. */
export class TruncatedObject extends Error {}

/** Yields each line (without its newline) with its 1-based number. */
export async function* readLines(
  body: LogBody,
  onBytes: (n: number) => void,
): AsyncGenerator<[string, number]> {
  if ('text' in body) {
    // A UTF-8 byte-order mark is not part of the first line (streamLines' TextDecoder drops it the same way).
    yield* linesOfText(body.text.charCodeAt(0) === 0xfeff ? body.text.slice(1) : body.text);
    if (body.truncated !== null) throw new TruncatedObject(body.truncated);
    return;
  }
  yield* streamLines(body.stream, onBytes);
}

function* linesOfText(text: string): Generator<[string, number]> {
  let start = 0;
  let line = 0;
  while (start < text.length) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = text.length;
    line++;
    const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    yield [text.slice(start, end), line];
    start = nl + 1;
  }
}

async function* streamLines(
  raw: Readable,
  onBytes: (n: number) => void,
): AsyncGenerator<[string, number]> {
  const it = (raw as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const counted = async function* (): AsyncGenerator<Buffer> {
    for await (const chunk of withFirstChunk(first.value, it)) {
      onBytes(chunk.length);
      yield chunk;
    }
  };
  const gzip = first.value.length >= 2 && first.value[0] === 0x1f && first.value[1] === 0x8b;
  let source: AsyncIterable<Buffer> = counted();
  if (gzip) {
    const gunzip = createGunzip();
    // pipeline destroys gunzip with the error (a truncated file), which ends the loop below with that error.
    pipeline(Readable.from(counted()), gunzip).catch(() => {});
    source = gunzip;
  }
  const decoder = new TextDecoder('utf-8');
  let rest = '';
  let line = 0;
  for await (const chunk of source) {
    const text = rest + decoder.decode(chunk, { stream: true });
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      line++;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      yield [text.slice(start, end), line];
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.decode();
  if (rest.length > 0) {
    line++;
    yield [rest.endsWith('\r') ? rest.slice(0, -1) : rest, line];
  }
}
