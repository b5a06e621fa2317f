import { writeSync } from 'node:fs';

/** writeSync may write less than asked (a signal, a nearly full disk): the rest goes in further writes. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
}
