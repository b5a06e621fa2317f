/**
 * Writes objects in Bedrock's S3 layout under a local root that stands for the bucket:
 * `AWSLogs/<acct>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/<YYYYMMDDTHHMMSSZ>_<16 hex>.json.gz`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);
/** Fast compression: the files are small and many; level 1 keeps generation to a few seconds. */
const GZIP = { level: 1 };

const pad = (n: number) => String(n).padStart(2, '0');

export function logsPrefix(accountId: string): string {
  return `AWSLogs/${accountId}/BedrockModelInvocationLogs`;
}

export function hourKey(accountId: string, region: string, hourMs: number): string {
  const d = new Date(hourMs);
  const day = `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
  return `${logsPrefix(accountId)}/${region}/${day}/${pad(d.getUTCHours())}`;
}

/** `20260414T085715Z_3fa85f6457174562.json.gz` */
export function objectName(deliveredMs: number, hex16: string): string {
  const d = new Date(deliveredMs);
  const date = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
  return `${date}T${time}Z_${hex16}.json.gz`;
}

/** Writes gzip objects under one root, creating each folder once. */
export class GzipWriter {
  private readonly folders = new Map<string, Promise<unknown>>();
  constructor(private readonly root: string) {}

  /** Gzips `text` to `<root>/<key>`; resolves to the compressed size. */
  async write(key: string, text: string): Promise<number> {
    const path = join(this.root, key);
    const [bytes] = await Promise.all([
      gzipAsync(Buffer.from(text, 'utf8'), GZIP),
      this.folder(dirname(path)),
    ]);
    await writeFile(path, bytes);
    return bytes.length;
  }

  private folder(path: string): Promise<unknown> {
    let made = this.folders.get(path);
    if (made === undefined) {
      made = mkdir(path, { recursive: true });
      this.folders.set(path, made);
    }
    return made;
  }
}

/** The marker object Bedrock writes when logging is configured; readers must skip it. */
export async function writePermissionCheck(root: string, accountId: string): Promise<number> {
  const path = join(root, logsPrefix(accountId), 'amazon-bedrock-logs-permission-check');
  const text = 'Amazon Bedrock model invocation logging permission check\n';
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return Buffer.byteLength(text);
}
