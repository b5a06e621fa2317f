/**
 * Imported first by child.ts: the ingest steps get the young generation `tokenledger ingest` gets, set as the CLI
 * sets it, before their modules load (core/heap.ts). The floor steps keep V8's defaults.
 */
import { smallYoungGeneration } from '../src/core/heap.ts';

if (['e2e', 'reingest'].includes(process.argv[2] ?? '')) smallYoungGeneration();
