/**
 * Bytes → lines, streaming and in constant memory: optional gunzip (detected by magic bytes, not by name), UTF-8
 * decoding across chunk boundaries, CRLF tolerated. Counts compressed bytes for progress.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

async function* withFirstChunk(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  for (;;) {
    const n = await rest.next();
    if (n.done) return;
    yield n.value;
  }
}

/** Yields each line (without its newline) with its 1-based number. `onBytes` gets raw byte counts as read. */
export async function* readLines(
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
