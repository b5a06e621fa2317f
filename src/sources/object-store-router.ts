/**
 * One object store for every URI a source is configured with: `s3://…` goes to S3, a path or `file://` URL to the
 * local filesystem. The S3 store is created on first use, so a run over local files never builds an AWS client.
 */
import { AppError } from '../core/index.ts';
import type { ObjectStore } from './object-store.ts';

export interface ObjectStoreDeps {
  /** Called at most once, on the first `s3://` URI. */
  readonly s3: () => ObjectStore;
  readonly local: ObjectStore;
}

export function createObjectStore(deps: ObjectStoreDeps): ObjectStore {
  let s3: ObjectStore | undefined;
  const storeFor = (uri: string): ObjectStore => {
    const scheme = /^([a-z][a-z0-9+.-]+):\/\//i.exec(uri)?.[1]?.toLowerCase();
    if (scheme === 's3') {
      s3 ??= deps.s3();
      return s3;
    }
    if (scheme === undefined || scheme === 'file') return deps.local;
    throw new AppError('sources.unsupported_uri', `unsupported URI scheme ${scheme}:// in ${uri}`);
  };
  return {
    async *list(uri, signal) {
      yield* storeFor(uri).list(uri, signal);
    },
    read: async (uri, signal) => storeFor(uri).read(uri, signal),
  };
}
