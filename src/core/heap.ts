/**
 * A batch job's JS heap kept near its live size. V8 flags, which V8 reads as the process runs; they hold for the
 * whole process, so servers never set them.
 */
import { setFlagsFromString } from 'node:v8';

/**
 * The old generation grows to at most twice what is live after a full collection (`--heap-growing-percent=100`),
 * not four times: a batch job's short-lived rows otherwise piled up as ~200 MB of garbage between collections (the
 * demo's 90k records row by row: peak RSS 553 → 443 MB, +8 % CPU).
 */
export function compactOldGeneration(): void {
  setFlagsFromString('--heap-growing-percent=100');
}

/**
 * The young generation stays at its initial size, 1 MB semi-spaces (`--semi-space-growth-factor=1`). V8 otherwise
 * doubles it, up to 2 × 16 MB, whenever a scavenge finds much of it alive, as module loading and each bulk group's
 * results do, and keeps it so. The flag governs growth from then on: it must be set before the job's modules load
 * (the CLI does so for `ingest`; set in openRuntime, after them, it saved nothing). Measured with `tokenledger
 * ingest`, interleaved pairs: 1M records 398–410 vs 415–425 MB peak RSS at the same CPU; 100k records in 6,667 small
 * files (row by row) 325–336 vs 354–383 MB, but 7–15 % more CPU (five pairs); in the demo, which generates its logs
 * in JS first, 483–487 vs 572–606 MB but 32 vs 26–29 CPU-s, which is why `demo` and `start` keep V8's default.
 */
export function smallYoungGeneration(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}
