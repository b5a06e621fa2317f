/**
 * The AWS object stores (S3, CloudWatch Logs), loaded on first use: an AWS SDK client costs ~0.5 s to import, which
 * every local run would otherwise pay.
 */
import type { ObjectStore } from './object-store.ts';

function createLazyObjectStore(load: () => Promise<ObjectStore>): ObjectStore {
  let store: Promise<ObjectStore> | undefined;
  const get = () => {
    store ??= load();
    return store;
  };
  return {
    async *list(uri, signal) {
      yield* (await get()).list(uri, signal);
    },
    read: async (uri, signal) => (await get()).read(uri, signal),
  };
}

export function createLazyS3ObjectStore(env: NodeJS.ProcessEnv): ObjectStore {
  return createLazyObjectStore(() =>
    import('./s3-object-store.ts').then((m) => m.createS3ObjectStoreFromEnv(env)),
  );
}

export function createLazyCloudWatchLogsObjectStore(env: NodeJS.ProcessEnv): ObjectStore {
  return createLazyObjectStore(() =>
    import('./cloudwatch-logs-object-store.ts').then((m) =>
      m.createCloudWatchLogsObjectStoreFromEnv(env),
    ),
  );
}
