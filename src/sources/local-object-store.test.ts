import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { AppError } from '../core/index.ts';
import { createLocalObjectStore } from './local-object-store.ts';
import type { ObjectInfo } from './object-store.ts';

const store = createLocalObjectStore();

async function collect(items: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function write(root: string, relative: string, content: string): string {
  const file = path.join(root, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

function isNotFound(e: unknown, name: string): boolean {
  return e instanceof AppError && e.code === 'sources.not_found' && e.message.includes(name);
}

describe('local object store', () => {
  let root: string;

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-'));
    write(root, 'b.txt', 'bee');
    write(root, 'a/z.txt', 'zed');
    write(root, 'a/y/deep.txt', 'deep');
    write(root, 'a-c.txt', 'a dash c');
    write(root, 'A.txt', 'upper');
    fs.mkdirSync(path.join(root, 'empty'));
    fs.symlinkSync(root, path.join(root, 'a', 'loop'));
  });

  after(() => fs.rmSync(root, { recursive: true, force: true }));

  test('lists nested files in lexicographic order of absolute path', async () => {
    const items = await collect(store.list(root));
    const expected = ['A.txt', 'a-c.txt', 'a/y/deep.txt', 'a/z.txt', 'b.txt'].map((p) =>
      path.join(root, p),
    );
    assert.deepEqual(
      items.map((i) => i.uri),
      expected,
    );
    const sorted = [...expected].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    assert.deepEqual(expected, sorted);
  });

  test('reports size and an mtime-size version that changes with the file', async () => {
    const file = path.join(root, 'b.txt');
    const [original] = await collect(store.list(file));
    const stats = fs.statSync(file);
    assert.deepEqual(original, { uri: file, size: 3, version: `${stats.mtimeMs}-3` });
    fs.utimesSync(file, new Date('2024-01-02T03:04:05Z'), new Date('2024-01-02T03:04:05Z'));
    const [changed] = await collect(store.list(file));
    assert.equal(changed?.version, `${Date.parse('2024-01-02T03:04:05Z')}-3`);
  });

  test('resolves relative paths and file:// URLs to absolute URIs', async () => {
    const file = path.join(root, 'a', 'z.txt');
    const relative = await collect(store.list(path.relative(process.cwd(), file)));
    assert.deepEqual(
      relative.map((i) => i.uri),
      [file],
    );
    const url = await collect(store.list(pathToFileURL(path.join(root, 'a', 'y')).href));
    assert.deepEqual(
      url.map((i) => i.uri),
      [path.join(root, 'a', 'y', 'deep.txt')],
    );
  });

  test('a symlink loop is passed over like a dangling link; the files beside it are listed', async () => {
    const dir = path.join(root, 'looped');
    write(dir, 'x.txt', 'x');
    fs.symlinkSync(path.join(dir, 'loopb'), path.join(dir, 'loopa'));
    fs.symlinkSync(path.join(dir, 'loopa'), path.join(dir, 'loopb'));
    assert.deepEqual(
      (await collect(store.list(dir))).map((o) => path.basename(o.uri)),
      ['x.txt'],
    );
  });

  test('an empty directory lists nothing', async () => {
    assert.deepEqual(await collect(store.list(path.join(root, 'empty'))), []);
  });

  test('a missing path is sources.not_found naming the path; a file gone when read, sources.gone', async () => {
    const missing = path.join(root, 'nope');
    await assert.rejects(collect(store.list(missing)), (e) => isNotFound(e, missing));
    await assert.rejects(
      store.read(missing),
      (e) => e instanceof AppError && e.code === 'sources.gone' && e.message.includes(missing),
    );
    await assert.rejects(store.read(path.join(root, 'a')), (e) =>
      isNotFound(e, path.join(root, 'a')),
    );
  });

  test('reads the bytes of a file', async () => {
    const bytes = Buffer.from([0x1f, 0x8b, 0x00, 0xff, 0x0a]);
    const file = path.join(root, 'binary.bin');
    fs.writeFileSync(file, bytes);
    assert.deepEqual(await buffer(await store.read(file)), bytes);
    fs.rmSync(file);
  });

  test('reads small files whole and large ones as a stream, the same bytes either way', async () => {
    for (const size of [0, 1, 256 * 1024, 256 * 1024 + 1, 3 * 1024 * 1024 + 7]) {
      const bytes = Buffer.alloc(size, 0).map((_, i) => (i * 31) & 0xff);
      const file = path.join(root, `sized-${size}.bin`);
      fs.writeFileSync(file, bytes);
      assert.ok((await buffer(await store.read(file))).equals(bytes), `${size} bytes`);
      fs.rmSync(file);
    }
  });

  test('an aborted signal stops listing', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(collect(store.list(root, controller.signal)), { name: 'AbortError' });
  });
});
