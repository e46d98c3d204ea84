// The upload phase's writer: queues new content, writes it in batches (noting each remotely in the
// upload journal) and counts what it wrote and what storage confirmed.
import { journalKey, partKeys } from "@kv-assets/runtime/format";
import type { Trusted } from "./history.js";
import type { SyncSettings } from "./options.js";
import type { KvEntry, KvTarget } from "./target.js";

/** What a sync has written so far. */
export interface Tally {
  /** Keys of content queued or written. */
  keys: number;
  /** Bytes of content queued or written. */
  bytes: number;
  /** Keys storage confirmed, which a re-run finds (remotely, once the journal names them). */
  confirmedKeys: number;
  confirmedBytes: number;
}

/** Writes content the site lacks; see {@link createUploader}. */
export interface Uploader {
  /** Whether storage holds all of a body of `size` bytes under `key` (in KV, or in the bucket). */
  stored(key: string, size: number, inBucket: boolean): boolean;
  /** Writes a body storage lacks: whole to the bucket, or queued for KV (split into parts). */
  write(key: string, bytes: Uint8Array, inBucket: boolean): Promise<void>;
  /** Queues one KV value (a body, or one part of it) storage lacks. */
  writeValue(key: string, value: Uint8Array): Promise<void>;
  /** Writes what is queued; resolves once every write so far is confirmed. */
  flush(): Promise<void>;
  /** Resolves once no write is under way, whether it succeeded or not. */
  settled(): Promise<void>;
  /** Journal records this sync wrote. */
  readonly journaled: string[];
  readonly tally: Tally;
}

/**
 * Queues KV values until they reach `batchBytes`, then writes them while the next ones queue, so
 * memory holds about one batch. A value storage already has (or that was queued) is skipped.
 * Bodies for the bucket are written whole, one at a time: each is at least `r2.minSize` bytes.
 */
export function createUploader(
  target: KvTarget,
  trusted: Pick<Trusted, "present" | "bucket">,
  settings: Pick<SyncSettings, "prefix" | "chunk" | "batchBytes" | "started">,
  stopIfAborted: () => void,
): Uploader {
  const { present, bucket } = trusted;
  const { chunk } = settings;
  const metadata = { t: Math.floor(settings.started / 1000) };
  const tally: Tally = { keys: 0, bytes: 0, confirmedKeys: 0, confirmedBytes: 0 };
  const journaled: string[] = [];
  let queue: KvEntry[] = [];
  let queued = 0;
  let writing = Promise.resolve();

  const count = (value: Uint8Array): void => {
    tally.keys += 1;
    tally.bytes += value.byteLength;
  };
  const confirm = (entries: KvEntry[]): void => {
    tally.confirmedKeys += entries.length;
    for (const { value } of entries) tally.confirmedBytes += value.length;
  };

  const uploader: Uploader = {
    journaled,
    tally,
    stored(key, size, inBucket) {
      if (inBucket) return bucket?.present.has(key) ?? false;
      return partKeys(key, size, chunk).every((k) => present.has(k));
    },
    async write(key, bytes, inBucket) {
      if (inBucket && bucket) {
        if (bucket.present.has(key)) return;
        bucket.present.add(key);
        await bucket.target.putMany([{ key, value: bytes, metadata }]);
        count(bytes);
        confirm([{ key, value: bytes }]);
        return;
      }
      const keys = partKeys(key, bytes.byteLength, chunk);
      for (const [i, partKey] of keys.entries()) {
        const value = keys.length === 1 ? bytes : bytes.subarray(i * chunk, (i + 1) * chunk);
        await uploader.writeValue(partKey, value);
      }
    },
    async writeValue(key, value) {
      if (present.has(key)) return;
      present.add(key);
      queue.push({ key, value, metadata });
      queued += value.byteLength;
      count(value);
      if (queued >= settings.batchBytes) await uploader.flush();
    },
    flush() {
      const batch = queue;
      queue = [];
      queued = 0;
      if (batch.length > 0) {
        writing = writing.then(async () => {
          stopIfAborted();
          await target.putMany(batch);
          if (target.remote) {
            const key = journalKey(settings.prefix, settings.started, journaled.length);
            journaled.push(key);
            const keys = JSON.stringify(batch.map((entry) => entry.key));
            await target.putMany([{ key, value: keys, metadata }]);
          }
          confirm(batch);
        });
      }
      return writing;
    },
    settled() {
      return writing.catch(() => {});
    },
  };
  return uploader;
}
