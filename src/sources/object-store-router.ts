/**
 * One object store for every URI a source is configured with: `s3://…` goes to S3, `cwlogs://…` to CloudWatch Logs,
 * a path or `file://` URL to the local filesystem. The AWS stores are created on first use, so a run over local
 * files never builds an AWS client.
 */
import { AppError } from '../core/index.ts';
import type { ObjectStore } from './object-store.ts';

export interface ObjectStoreDeps {
  /** Called at most once, on the first `s3://` URI. */
  readonly s3: () => ObjectStore;
  /** Called at most once, on the first `cwlogs://` URI; without it such URIs are refused. */
  readonly cwlogs?: () => ObjectStore;
  readonly local: ObjectStore;
}

export function createObjectStore(deps: ObjectStoreDeps): ObjectStore {
  const remote = new Map<string, ObjectStore>();
  const storeFor = (uri: string): ObjectStore => {
    const scheme = /^([a-z][a-z0-9+.-]+):\/\//i.exec(uri)?.[1]?.toLowerCase();
    if (scheme === undefined || scheme === 'file') return deps.local;
    const make = scheme === 's3' ? deps.s3 : scheme === 'cwlogs' ? deps.cwlogs : undefined;
    if (make === undefined)
      throw new AppError(
        'sources.unsupported_uri',
        `unsupported URI scheme ${scheme}:// in ${uri}`,
      );
    let store = remote.get(scheme);
    if (store === undefined) {
      store = make();
      remote.set(scheme, store);
    }
    return store;
  };
  return {
    async *list(uri, signal) {
      yield* storeFor(uri).list(uri, signal);
    },
    read: async (uri, signal) => storeFor(uri).read(uri, signal),
  };
}
