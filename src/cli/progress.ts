/** A progress line on stderr when it is a terminal; nothing otherwise (logs and pipes stay clean). */
import type { IngestProgress } from '../pipeline/index.ts';
import { compact } from './format.ts';

export function createProgressBar(
  stream: NodeJS.WriteStream,
  now: () => number,
): {
  update(p: IngestProgress): void;
  done(): void;
} {
  if (!stream.isTTY) return { update() {}, done() {} };
  const started = now();
  let last = 0;
  let shown = false;
  return {
    update(p) {
      const t = now();
      if (t - last < 100) return;
      last = t;
      shown = true;
      const frac = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 0;
      const width = 24;
      const filled = Math.round(frac * width);
      const rate = p.records / Math.max(0.001, (t - started) / 1000);
      const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
      stream.write(
        `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%  ` +
          `${mb(p.bytesDone)}/${mb(p.bytesTotal)}  files ${p.filesDone}/${p.filesTotal}  ` +
          `${compact(p.records)} records  ${compact(Math.round(rate))}/s\x1b[K`,
      );
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
