/** TLS material named in the configuration (`gateway.tls`, `otlp.tls`): PEM files relative to the configuration file. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { AppError } from '../core/index.ts';

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
}

/**
 * The certificate chain and key of the `setting` (e.g. `gateway.tls`), read and checked to make a usable pair, so
 * that a server refuses to start (naming the setting and file) rather than fail its first handshake.
 */
export function readTls(
  setting: string,
  files: TlsFiles,
  configPath: string | undefined,
): { cert: Buffer; key: Buffer } {
  const base = configPath === undefined ? process.cwd() : dirname(resolve(configPath));
  const read = (what: 'cert' | 'key') => {
    const path = resolve(base, files[what]);
    try {
      return readFileSync(path);
    } catch (e: unknown) {
      throw new AppError(
        'cli.tls_unreadable',
        `${setting}.${what}: cannot read ${path}: ${(e as Error).message}`,
        { cause: e },
      );
    }
  };
  const pair = { cert: read('cert'), key: read('key') };
  try {
    createSecureContext(pair);
  } catch (e: unknown) {
    throw new AppError(
      'cli.tls_invalid',
      `${setting}: the certificate or key cannot be used: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return pair;
}
