/**
 * The ledger encoder's thread (ledger-encoder.ts): spool lines → RawUsage → priced, attributed records → one file in
 * the store's row format. Built from the same configuration and catalog files as the runtime.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { RawUsage } from '../core/index.ts';
import { decodeLine } from '../gateway/index.ts';
import { ledgerRecord } from '../pipeline/index.ts';
import { openPricing } from '../runtime.ts';
import { UsageEncoder } from '../store/index.ts';
import type { EncoderReply, EncoderRequest, EncoderWorkerData } from './ledger-encoder.ts';

const data = workerData as EncoderWorkerData;
const pricing = openPricing({ configPath: data.configPath, env: data.env });
const port = parentPort;
if (port === null) throw new Error('ledger-encoder-worker runs as a worker thread');

port.on('message', (req: EncoderRequest) => {
  let reply: EncoderReply;
  try {
    // Each row is encoded as its line is read: the records are not kept (see UsageEncoder).
    const encoder = new UsageEncoder();
    const unreadable: { index: number; error: string }[] = [];
    const bytes = Buffer.from(req.lines.buffer, req.lines.byteOffset, req.lines.byteLength);
    let index = 0;
    for (let pos = 0; pos < bytes.length; ) {
      let nl = bytes.indexOf(10, pos);
      if (nl === -1) nl = bytes.length;
      if (nl > pos) {
        try {
          encoder.add(
            ledgerRecord(pricing, decodeLine(bytes.toString('utf8', pos, nl)) as RawUsage),
          );
        } catch (e: unknown) {
          unreadable.push({ index, error: (e as Error).message });
        }
        index++;
      }
      pos = nl + 1;
    }
    reply = { id: req.id, ok: true, encoded: encoder.finish(req.file), unreadable };
  } catch (e: unknown) {
    reply = { id: req.id, ok: false, error: (e as Error).message };
  }
  port.postMessage(reply);
});
