/**
 * The gateway's calls on their way to the ledger. Each finished call is encoded once, on the event loop, as the
 * ledger row it becomes (`createRowEncoder`: what depends only on the caller, model, Region and day is worked out
 * once and kept, so a call costs ~1–3 µs); that row is the spool's line. A batch of spooled lines then goes to the
 * store as it is: only each row's request id and time are read (`scanRows`) to drop repeats and bound the dedupe
 * window, and DuckDB parses the rows (`Store.writeEncodedUsage`).
 *
 * Spool segments written before rows were spooled hold RawUsage lines (`{"r":…}`, `encodeLine`); they are encoded
 * here when their batch is delivered. A row DuckDB cannot read fails its batch: the batch's lines are then checked
 * one by one, those that are not JSON are skipped (counted, as the spool counts torn lines), and the rest is
 * written again.
 */
import { rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, makeTempDir, type Picos, type RawUsage } from '../core/index.ts';
import { decodeLine, GATEWAY_SOURCE, type LinesOutcome } from '../gateway/index.ts';
import { createRowEncoder } from '../pipeline/index.ts';
import type { Runtime } from '../runtime.ts';
import { scanRows } from '../store/index.ts';

/**
 * How far around a batch of gateway calls the ledger is searched for the same request ids. A replayed spool batch
 * has the very same times, and the invocation log of a call (should it be ingested first) is stamped with the
 * call's start, seconds from the gateway's own; ten minutes covers clock skew and queueing, and keeps each batch's
 * dedupe to the last minutes of the ledger rather than a busy day of it (10M rows: ~20 ms more per batch).
 */
const DEDUPE_MARGIN_MS = 10 * 60_000;
const LEGACY = Buffer.from('{"r":', 'latin1');

export interface GatewayLedger {
  /** A finished call as its ledger row (the spool's line), and its list price (null when unpriced). */
  encode(raw: RawUsage): { readonly row: string; readonly picos: Picos | null };
  /** The spool's writer: stores `count` lines (rows, or legacy RawUsage lines) and says how many were unreadable. */
  writeLines(lines: Buffer, count: number): Promise<LinesOutcome>;
  close(): void;
}

export function createGatewayLedger(
  rt: Pick<Runtime, 'store' | 'normaliser' | 'catalog' | 'attributor'>,
  log: { warn(message: string, fields?: Record<string, unknown>): void },
): GatewayLedger {
  const rows = createRowEncoder(rt);
  const dir = makeTempDir('tokenledger-gateway-');
  let fileNo = 0;

  /** Legacy lines of a batch encoded as rows (those that cannot be read dropped); other lines kept as they are. */
  const withLegacyEncoded = (lines: Buffer): { lines: Buffer; dropped: number } =>
    lines.indexOf(LEGACY) === -1
      ? { lines, dropped: 0 }
      : rewriteLines(lines, (l) =>
          l.startsWith('{"r":') ? rows.encode(decodeLine(l) as RawUsage).row : l,
        );

  /** The lines that parse as JSON, and how many did not. */
  const parsable = (lines: Buffer) =>
    rewriteLines(lines, (l) => {
      JSON.parse(l);
      return l;
    });

  const store = async (lines: Buffer): Promise<number> => {
    const scanned = scanRows(lines);
    if (scanned.count === 0) return scanned.unreadable;
    const file = join(dir, `batch-${fileNo++}.ndjson`);
    await writeFile(file, scanned.rows);
    // The store deletes the file, written or not.
    await rt.store.writeEncodedUsage(
      {
        file,
        records: scanned.count + scanned.repeats,
        rows: scanned.count,
        minTs: scanned.minTs,
        maxTs: scanned.maxTs,
      },
      { dedupeMarginMs: DEDUPE_MARGIN_MS, ownSource: GATEWAY_SOURCE },
    );
    // Claude Code telemetry of the same calls (collected beside the gateway by `serve`) joins them now.
    await rt.store.telemetry.enrich({ fromMs: scanned.minTs, toMs: scanned.maxTs });
    return scanned.unreadable;
  };

  /**
   * Stores a batch that DuckDB refused for a value in it (a row no check caught): halves it until the rows it
   * refuses alone are found, stores the rest, and keeps those rows aside in the ledger's rejects (source
   * `gateway:<request id>`, DuckDB's reason, the row), so that one row cannot hold back every call after it.
   * Returns how many rows were kept aside. An error that is not about a value (the store down) is thrown.
   */
  const isolate = async (lines: Buffer): Promise<number> => {
    try {
      return await store(lines);
    } catch (e: unknown) {
      if (!refusedValue(e)) throw e;
      const all = lines
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '');
      if (all.length === 1) {
        const row = all[0] as string;
        const c0 = (JSON.parse(row) as { c0?: unknown }).c0; // the request id (encodeRow's first column)
        const id = typeof c0 === 'string' ? c0 : 'unknown';
        await rt.store.writeEncodedUsage({
          file: null,
          records: 0,
          rows: 0,
          minTs: 0,
          maxTs: 0,
          rejects: [
            {
              source: { uri: `${GATEWAY_SOURCE}:${id}`, line: 0 },
              // Without the batch file's name: the same row refused again is the same reject.
              reason: `the ledger refused the row: ${(errorMessage(e).split('\n')[0] ?? '').replace(/ in file "[^"]*"/g, '')}`,
              excerpt: row,
            },
          ],
        });
        log.warn('spool: a row the ledger refused was kept aside in its rejects', {
          requestId: id,
        });
        return 1;
      }
      const half = all.length >> 1;
      const part = (l: readonly string[]) => Buffer.from(`${l.join('\n')}\n`);
      return (await isolate(part(all.slice(0, half)))) + (await isolate(part(all.slice(half))));
    }
  };

  return {
    encode: (raw) => rows.encode(raw),

    async writeLines(lines) {
      const batch = withLegacyEncoded(lines);
      let unreadable = batch.dropped;
      try {
        unreadable += await store(batch.lines);
      } catch (e: unknown) {
        const checked = parsable(batch.lines);
        if (checked.dropped === 0 && !refusedValue(e)) throw e;
        unreadable += checked.dropped + (await isolate(checked.lines));
      }
      if (unreadable > 0) log.warn('spool: skipped lines that cannot be read', { unreadable });
      return { unreadable };
    },

    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * DuckDB refused a value of the batch (a number out of its column's range, a string it cannot read), as opposed to
 * the store being unavailable: then the batch's rows can be told apart.
 */
function refusedValue(e: unknown): boolean {
  const text = `${errorMessage(e)} ${e instanceof Error && e.cause !== undefined ? errorMessage(e.cause) : ''}`;
  return /Conversion Error|Invalid Input Error|Mismatch Type Error|Out of Range Error/.test(text);
}

/** Each non-empty line of a batch through `f`; a line `f` throws on is dropped and counted. */
function rewriteLines(
  lines: Buffer,
  f: (line: string) => string,
): { lines: Buffer; dropped: number } {
  let dropped = 0;
  const out: string[] = [];
  for (const l of lines.toString('utf8').split('\n')) {
    if (l === '') continue;
    try {
      out.push(f(l));
    } catch {
      dropped++;
    }
  }
  return { lines: Buffer.from(out.length === 0 ? '' : `${out.join('\n')}\n`), dropped };
}
