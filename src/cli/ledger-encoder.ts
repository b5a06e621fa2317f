/**
 * Turns spooled gateway calls into ledger rows on a thread of their own. Normalising, pricing, attributing and
 * encoding a call is ~20 µs of CPU (plus the garbage it leaves); on the gateway's event loop that is time every
 * request waits for. Here the main thread only hands over the spool's bytes (one copy, transferred); the worker
 * splits and decodes them, builds the records with the same configuration and catalog as the runtime (`openPricing`
 * on the runtime's origin) and writes them, encoded, to a file that `Store.writeEncodedUsage` loads.
 *
 * A worker that dies (or cannot start) fails the batches in flight; the spool keeps them and retries, and the next
 * batch starts a new worker.
 */
import { Worker } from 'node:worker_threads';
import type { EncodedUsage } from '../store/index.ts';

export interface EncoderRequest {
  readonly id: number;
  /** Spool lines (`encodeLine` of a RawUsage each, newline-terminated; empty lines are skipped). */
  readonly lines: Uint8Array;
  /** Where to write the encoded batch. */
  readonly file: string;
}

export type EncoderReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly encoded: EncodedUsage;
      /** Lines that could not be read: index among the batch's non-empty lines, and why. */
      readonly unreadable: readonly { readonly index: number; readonly error: string }[];
    }
  | { readonly id: number; readonly ok: false; readonly error: string };

/** What the worker is started with. */
export interface EncoderWorkerData {
  readonly configPath: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface EncodedBatch {
  readonly encoded: EncodedUsage;
  readonly unreadable: readonly { readonly index: number; readonly error: string }[];
}

export interface LedgerEncoder {
  /** `lines` is copied (a spool segment's bytes stay the caller's). */
  encode(lines: Uint8Array, file: string): Promise<EncodedBatch>;
  /** Stops the worker; batches in flight fail, and so does any later one. */
  close(): Promise<void>;
}

/** The worker's module: `.ts` beside this file when running from source (tsx), `.js` when built. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(
  FROM_SOURCE ? './ledger-encoder-worker.ts' : './ledger-encoder-worker.js',
  import.meta.url,
).href;
/**
 * The worker's entry script. From source, tsx's loader hooks (`--import tsx`) do not reach worker threads on node 20,
 * so the `.ts` module is imported through tsx's API (a development dependency, used only then).
 */
const WORKER_SCRIPT = FROM_SOURCE
  ? `import('tsx/esm/api').then((tsx) => tsx.tsImport(${JSON.stringify(WORKER_URL)}, ${JSON.stringify(import.meta.url)}))`
  : `import(${JSON.stringify(WORKER_URL)})`;

export function createLedgerEncoder(data: EncoderWorkerData): LedgerEncoder {
  let worker: Worker | null = null;
  let closed = false;
  let nextId = 0;
  const waiting = new Map<number, { ok: (b: EncodedBatch) => void; fail: (e: Error) => void }>();

  const failAll = (e: Error): void => {
    for (const w of waiting.values()) w.fail(e);
    waiting.clear();
  };

  const start = (): Worker => {
    const w = new Worker(WORKER_SCRIPT, {
      eval: true,
      workerData: data,
      env: { ...data.env },
    });
    w.unref(); // an idle encoder never keeps the process alive
    w.on('message', (reply: EncoderReply) => {
      const entry = waiting.get(reply.id);
      if (entry === undefined) return;
      waiting.delete(reply.id);
      if (reply.ok) entry.ok({ encoded: reply.encoded, unreadable: reply.unreadable });
      else entry.fail(new Error(`ledger encoder: ${reply.error}`));
    });
    w.on('error', (e) => {
      if (worker === w) worker = null;
      failAll(new Error(`ledger encoder failed: ${e.message}`));
    });
    w.on('exit', (code) => {
      if (worker === w) worker = null;
      failAll(new Error(`ledger encoder exited (${code})`));
    });
    return w;
  };

  return {
    encode(lines, file) {
      if (closed) return Promise.reject(new Error('ledger encoder closed'));
      worker ??= start();
      const w = worker;
      const id = nextId++;
      return new Promise<EncodedBatch>((ok, fail) => {
        waiting.set(id, { ok, fail });
        // While a batch is in flight the worker keeps the process alive, as an awaited write would.
        w.ref();
        // One copy of the bytes, handed over (transferred) rather than cloned again.
        const copy = new Uint8Array(lines);
        const request: EncoderRequest = { id, lines: copy, file };
        w.postMessage(request, [copy.buffer]);
      }).finally(() => {
        if (waiting.size === 0) w.unref();
      });
    },
    async close() {
      closed = true;
      const w = worker;
      worker = null;
      if (w !== null) await w.terminate();
      failAll(new Error('ledger encoder closed'));
    },
  };
}
