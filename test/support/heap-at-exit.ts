/**
 * `--import` this into a child process: at exit it prints one line `HEAP_AT_EXIT {"new_space":…,…}`, the size in
 * bytes of each V8 heap space, to stderr.
 */
import { getHeapSpaceStatistics } from 'node:v8';

export const HEAP_AT_EXIT = 'HEAP_AT_EXIT ';

process.on('exit', () => {
  const spaces = Object.fromEntries(
    getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]),
  );
  process.stderr.write(`${HEAP_AT_EXIT}${JSON.stringify(spaces)}\n`);
});
