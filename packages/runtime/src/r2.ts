// r2Storage: the storage adapter for an R2 bucket, which holds large files whole and reads any range.

import type { ByteRange } from "./range.js";
import type { AssetStorage } from "./storage.js";

/** The R2 calls the adapter makes; an `R2Bucket` fits as it is. */
export interface BucketLike {
  get(
    key: string,
    options?: { range?: { offset: number; length: number } },
  ): Promise<{ body: ReadableStream } | null>;
}

/**
 * Adapts an R2 bucket to {@link AssetStorage}. Pass it as `bucket` to serve the files the sync put
 * in R2, or as the storage itself when a whole site lives in a bucket. Ranges are read from R2
 * directly, so only the requested bytes leave the bucket.
 */
export function r2Storage(bucket: BucketLike): AssetStorage {
  return {
    async get(key) {
      return (await bucket.get(key))?.body ?? null;
    },
    async getRange(key: string, range: ByteRange) {
      const object = await bucket.get(key, {
        range: { offset: range.start, length: range.end - range.start + 1 },
      });
      return object?.body ?? null;
    },
  };
}
