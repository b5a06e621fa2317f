/**
 * The S3 object store, loaded on first use: the AWS SDK costs ~0.5 s to import, which every local run would
 * otherwise pay.
 */
import type { ObjectStore } from './object-store.ts';

export function createLazyS3ObjectStore(env: NodeJS.ProcessEnv): ObjectStore {
  let store: Promise<ObjectStore> | undefined;
  const get = () => {
    store ??= import('./s3-object-store.ts').then((m) => m.createS3ObjectStoreFromEnv(env));
    return store;
  };
  return {
    async *list(uri, signal) {
      yield* (await get()).list(uri, signal);
    },
    read: async (uri, signal) => (await get()).read(uri, signal),
  };
}
