// syncAssets: scan, hash, upload what storage lacks, then publish the manifest, in that order.
import {
  contentKey,
  historyKey,
  journalKey,
  KV_VALUE_LIMIT,
  partKeys,
  pointerKey,
  type AssetManifest,
} from "@kv-assets/runtime";
import { contentTypeOf, isCompressible } from "./content-type.js";
import { fail } from "./errors.js";
import { createHasher, hashBytes } from "./hash.js";
import { presentKeys, readHistory, RECENT_UPLOAD_SECONDS } from "./history.js";
import type { RemoteKvOptions } from "./kv-remote.js";
import { readJournal } from "./journal.js";
import { eachLimited } from "./limit.js";
import { describeLock, releaseLock, takeLock, waitForPrunes, type HeldLock } from "./locks.js";
import {
  createManifest,
  filesByHash,
  bucketKeys,
  manifestKeys,
  resolvePrefix,
  shardManifest,
  viteFingerprint,
  type SyncedFile,
} from "./manifest.js";
import { precompress } from "./precompress.js";
import { targetOpener } from "./open-target.js";
import { validateSyncOptions } from "./validate-options.js";
import { describeSkipped, scanDirectory, type ScanOptions, type SkippedFile } from "./scan.js";
import {
  fromFolder,
  fromMemory,
  SYNC_READ_LIMIT,
  WHOLE_READ_LIMIT,
  type Source,
} from "./sources.js";
import type { KvEntry, KvTarget } from "./target.js";

/** Where log lines go; Vite's logger and `console` both fit. */
export interface SyncLogger {
  info(message: string): void;
  warn(message: string): void;
}

/** Options of {@link syncAssets}. */
export interface SyncOptions extends ScanOptions {
  /** Folder to publish (a build's output). Either this or `files`. */
  dir?: string;
  /** Files to publish from memory, URL path to bytes (for platforms that receive uploads). Either this or `dir`. */
  files?: Record<string, Uint8Array | string>;
  /**
   * Prefix of every key this sync writes, to share a namespace between sites.
   * @default ""
   */
  prefix?: string;
  /** Project id of a multi-tenant platform: keys go under `project/{id}/` (after `prefix`). */
  project?: string;
  /**
   * KV binding name in the wrangler configuration.
   * @default "ASSETS"
   */
  binding?: string;
  /** Path of the wrangler configuration. Found in `cwd` when not given. */
  config?: string;
  /** Wrangler environment whose bindings to use. */
  environment?: string;
  /**
   * Folder the wrangler config is looked up in and relative paths start from.
   * @default process.cwd()
   */
  cwd?: string;
  /**
   * Write to the real namespace through the Cloudflare API instead of local state.
   * @default process.env.KV_ASSETS_REMOTE === "1"
   */
  remote?: boolean;
  /** Options for remote sync; `apiToken` and `accountId` default to CLOUDFLARE_API_TOKEN / CLOUDFLARE_ACCOUNT_ID. */
  remoteOptions?: Partial<RemoteKvOptions>;
  /**
   * Folder of wrangler's local state.
   * @default "<config folder>/.wrangler/state/v3"
   */
  persistTo?: string;
  /** Storage to write to, instead of local or remote KV (tests, custom back ends). Not closed by the sync. */
  target?: KvTarget;
  /**
   * Make br and gzip variants of compressible files (from `precompressMinSize` up to 25 MiB).
   * @default true
   */
  precompress?: boolean;
  /**
   * Smallest file, in bytes, worth precompressing.
   * @default 1024
   */
  precompressMinSize?: number;
  /**
   * Which paths are fingerprinted (content hash in the name), served with a year of immutable caching.
   * @default Vite's `assets/name-HASH.ext`
   */
  immutable?: (path: string) => boolean;
  /**
   * Largest value per key; bigger bodies are stored in parts.
   * @default 26214400 (KV's 25 MiB limit)
   */
  chunkSize?: number;
  /**
   * Largest file accepted, in bytes.
   * @default 1073741824 (1 GiB)
   */
  maxFileSize?: number;
  /**
   * How many recent manifests count as still deployed: their keys are trusted to exist.
   * @default 3
   */
  keep?: number;
  /**
   * Put files of at least `minSize` bytes (default 1 MiB), with their variants, whole in the R2
   * bucket bound as `binding`, and the rest in KV. Serve them with `bucket: r2Storage(env.BUCKET)`.
   * Local state only: a remote sync with this option is refused.
   * @default undefined
   */
  r2?: { binding: string; minSize?: number };
  /**
   * Sites with more files than this also publish their manifest in shards of about this many
   * files, so a Worker that loads it from KV (`loadManifest`) reads only the shards it needs.
   * @default 1000
   */
  shardSize?: number;
  /**
   * Bytes of new content queued before they are written. With one 25 MiB value for each of the 8
   * files in flight, this bounds the sync's memory whatever the size of the site or its files.
   * @default 33554432 (32 MiB)
   */
  batchBytes?: number;
  /** Where summary and warnings go. @default console */
  logger?: SyncLogger;
  /**
   * Publish even when there is no file to publish, replacing the live site with an empty one.
   * Without it an empty folder (or one holding only files that are left out) is refused.
   * @default false
   */
  allowEmpty?: boolean;
  /**
   * Stops the sync when aborted: nothing is published unless publishing had begun (then it
   * finishes), the lock is released, and the sync rejects saying what was written.
   */
  signal?: AbortSignal;
  /** Called as files are processed and uploaded. */
  onProgress?: (progress: { done: number; total: number; uploadedBytes: number }) => void;
}

/** What a sync did. */
export interface SyncResult {
  manifest: AssetManifest;
  stats: {
    /** Files published. */
    files: number;
    /** Files whose content storage did not have yet. */
    newFiles: number;
    /** Keys written, manifest records included. */
    uploadedKeys: number;
    /** Bytes of content written. */
    uploadedBytes: number;
    /** Files left out and why. */
    skipped: SkippedFile[];
    /** Where it went. */
    target: string;
    durationMs: number;
  };
}

/**
 * Publishes a folder (or in-memory files) to KV: uploads every body storage does not have yet,
 * and only once all of them are confirmed written, records the manifest (history first, then the
 * newest pointer). A failure at any point throws and publishes nothing; re-running uploads only
 * what is still missing.
 */
export async function syncAssets(options: SyncOptions): Promise<SyncResult> {
  validateSyncOptions(options as Record<string, unknown>);
  const started = Date.now();
  const logger = options.logger ?? console;
  const chunk = options.chunkSize ?? KV_VALUE_LIMIT;
  const compress = options.precompress ?? true;
  const compressMin = options.precompressMinSize ?? 1024;
  const immutable = options.immutable ?? viteFingerprint();
  const maxFileSize = options.maxFileSize ?? 1024 * 1024 * 1024;
  const keep = options.keep ?? 3;
  const batchBytes = options.batchBytes ?? 32 * 1024 * 1024;
  const shardSize = options.shardSize ?? 1000;
  const r2MinSize = options.r2?.minSize ?? 1024 * 1024;
  const onProgress = options.onProgress ?? (() => {});
  const prefix = resolvePrefix(
    options.prefix ?? "",
    options.project,
    Math.ceil(maxFileSize / chunk),
  );
  if ((options.dir === undefined) === (options.files === undefined))
    fail("pass either dir (a folder) or files (in memory) to sync");

  const memory = options.files !== undefined ? fromMemory(options.files, options) : undefined;

  // Local KV takes a couple of seconds to start: scan and hash meanwhile, keeping no bytes.
  const opening = options.target
    ? Promise.resolve(options.target)
    : (await targetOpener(options))();
  opening.catch(() => {});
  let target: KvTarget | undefined;
  let lock: HeldLock | undefined;
  let writing = Promise.resolve();
  let contentKeys = 0;
  let uploadedBytes = 0;
  // What storage confirmed, and a re-run will find (remotely, once the journal names it).
  const confirmed = { keys: 0, bytes: 0 };
  const stopIfAborted = (): void => {
    if (!options.signal?.aborted) return;
    const written =
      confirmed.keys === 0
        ? "no content was written"
        : `${confirmed.keys} keys of new content (${formatBytes(confirmed.bytes)}) were written, which a re-run will not upload again`;
    fail(
      `interrupted by ${String(options.signal.reason)}: nothing was published and ${written}; the previous deploy keeps serving`,
    );
  };
  try {
    const sources = memory ?? fromFolder(await scanDirectory(options.dir as string, options));
    for (const line of describeSkipped(sources.skipped)) logger.warn(line);
    const hashed = new Map<Source, Hashed>();
    if (sources.files.length === 0 && !options.allowEmpty) {
      const left =
        sources.skipped.length === 0
          ? ""
          : ` (${sources.skipped.length} left out: ${sources.skipped
              .slice(0, 3)
              .map((s) => s.path)
              .join(", ")}${sources.skipped.length > 3 ? ", ..." : ""})`;
      fail(
        `${options.dir ?? "the files given"} has no file to publish${left}; publishing it would replace the live site with an empty one. Build the site first, or pass allowEmpty (--allow-empty) to do that on purpose`,
      );
    }
    // A file over the limit is refused from its size, before anything is read.
    const oversized = sources.files.find((source) => source.size > maxFileSize);
    if (oversized) {
      fail(
        `${oversized.path} is ${oversized.size} bytes, over the ${maxFileSize}-byte limit; exclude it or raise maxFileSize (--max-file-size)`,
      );
    }
    const hashOne = async (source: Source, bytes: Uint8Array): Promise<void> => {
      stopIfAborted();
      hashed.set(source, { hash: await hashBytes(bytes), size: bytes.byteLength });
    };
    // Small files are read synchronously (far fewer round trips through the thread pool), with a
    // pause now and then so local KV keeps starting; larger ones asynchronously, a few at a time,
    // and those too large to hold in memory a block at a time.
    const small = sources.files.filter((f) => f.readSync && f.size <= SYNC_READ_LIMIT);
    const smallSet = new Set(small);
    const large = sources.files.filter((f) => !smallSet.has(f));
    for (const [i, source] of small.entries()) {
      await hashOne(source, (source.readSync as () => Uint8Array)());
      if (i % 256 === 255) await new Promise((resolve) => setImmediate(resolve));
    }
    await eachLimited(large, 8, async (source) => {
      if (source.size <= WHOLE_READ_LIMIT) return hashOne(source, await source.read());
      hashed.set(source, await hashInBlocks(source, chunk, stopIfAborted));
    });

    target = await opening;
    const storage = target;
    // Announce this sync before reading what it may trust, and let a running prune finish first.
    stopIfAborted();
    lock = await takeLock(target, prefix, "sync");
    await waitForPrunes(
      target,
      prefix,
      lock,
      (prunes) =>
        logger.info(
          `[kv-assets] waiting for a prune of ${JSON.stringify(prefix)} that started ${new Date(prunes[0]!.started).toISOString()} to finish (its lock: ${prunes[0]!.key}; \`kv-assets unlock\` clears one left by a prune that died)`,
        ),
      (message) => logger.warn(message),
    );
    const history = await readHistory(target, prefix, keep, logger);
    const known = filesByHash(history[0]);
    const present = await presentKeys(target, prefix, history, manifestKeys);
    // Remotely, keys a sync that was interrupted had confirmed are in the journal; trust them too.
    const journal = target.remote
      ? await readJournal(target, prefix, RECENT_UPLOAD_SECONDS * 1000)
      : { keys: new Set<string>(), records: [] };
    for (const key of journal.keys) present.add(key);
    const journaled: string[] = [];
    const bucket = options.r2 ? target.bucket : undefined;
    if (options.r2 && !bucket)
      fail(`the target ${target.description} has no R2 bucket for the r2 option`);
    const presentInBucket = bucket
      ? await presentKeys(bucket, prefix, history, bucketKeys)
      : new Set<string>();

    const now = Math.floor(started / 1000);
    const metadata = { t: now };
    const synced: SyncedFile[] = [];
    let queue: KvEntry[] = [];
    let queued = 0;
    let newFiles = 0;
    let done = 0;

    // Bodies for the bucket are written whole, one at a time: each is at least r2MinSize bytes.
    const confirm = (entries: KvEntry[]): void => {
      confirmed.keys += entries.length;
      for (const { value } of entries) confirmed.bytes += value.length;
    };
    const toBucket = async (key: string, bytes: Uint8Array): Promise<void> => {
      if (presentInBucket.has(key)) return;
      presentInBucket.add(key);
      await (bucket as KvTarget).putMany([{ key, value: bytes, metadata }]);
      contentKeys += 1;
      uploadedBytes += bytes.byteLength;
      confirm([{ key, value: bytes }]);
    };
    const oneLargeFileAtATime = serially();
    // Queues one value (a body, or one part of it), writing the queue once it holds batchBytes.
    const enqueueValue = async (key: string, value: Uint8Array): Promise<void> => {
      if (present.has(key)) return;
      present.add(key);
      queue.push({ key, value, metadata });
      queued += value.byteLength;
      contentKeys += 1;
      uploadedBytes += value.byteLength;
      if (queued >= batchBytes) await flush();
    };
    const enqueue = async (key: string, bytes: Uint8Array): Promise<void> => {
      const keys = partKeys(key, bytes.byteLength, chunk);
      for (const [i, partKey] of keys.entries()) {
        const value = keys.length === 1 ? bytes : bytes.subarray(i * chunk, (i + 1) * chunk);
        await enqueueValue(partKey, value);
      }
    };
    const flush = (): Promise<void> => {
      const batch = queue;
      queue = [];
      queued = 0;
      if (batch.length > 0) {
        writing = writing.then(async () => {
          stopIfAborted();
          await storage.putMany(batch);
          if (storage.remote) {
            const key = journalKey(prefix, started, journaled.length);
            journaled.push(key);
            const keys = JSON.stringify(batch.map((entry) => entry.key));
            await storage.putMany([{ key, value: keys, metadata }]);
          }
          confirm(batch);
        });
      }
      return writing;
    };

    await eachLimited(sources.files, 8, async (source) => {
      stopIfAborted();
      const { hash, size, parts } = hashed.get(source) as Hashed;
      const contentType = contentTypeOf(source.path);
      const carried = known.get(hash);
      const key = contentKey(prefix, hash);
      const inBucket = bucket !== undefined && size >= r2MinSize;
      const stored = (k: string, length: number): boolean =>
        inBucket ? presentInBucket.has(k) : allPresent(present, k, length, chunk);
      const write = inBucket ? toBucket : enqueue;
      const isNew = !stored(key, size);
      const compressible =
        compress && size >= compressMin && size <= WHOLE_READ_LIMIT && isCompressible(contentType);
      const variantsPresent = (carried?.variants ?? []).every((v) =>
        stored(contentKey(prefix, v.hash), v.size),
      );
      const remake = !carried || !variantsPresent;
      const changed = (): never =>
        fail(`${source.path} changed while it was being synced; run the sync again`);
      // Read the file again only when something of it must be written: whole when it fits in
      // memory, otherwise one stored part at a time, each checked against its hash from the
      // first read, so no part is written with bytes other than those the hash was taken over.
      let bytes: Uint8Array | undefined;
      if (parts && isNew && !inBucket) {
        newFiles += 1;
        // One such file at a time, so memory holds one of their parts, however many there are.
        await oneLargeFileAtATime(async () => {
          for (const [i, partKey] of partKeys(key, size, chunk).entries()) {
            stopIfAborted();
            const part = await source.readAt(i * chunk, Math.min(chunk, size - i * chunk));
            if ((await hashBytes(part)) !== parts[i]) changed();
            await enqueueValue(partKey, part);
          }
        });
      } else if (isNew || (remake && compressible)) {
        bytes = await source.read();
        if ((await hashBytes(bytes)) !== hash) changed();
        if (isNew) {
          newFiles += 1;
          await write(key, bytes);
        }
      }

      let variants = carried?.variants ?? [];
      if (remake) {
        variants = [];
        if (compressible) {
          for (const variant of await precompress(bytes as Uint8Array)) {
            const vhash = await hashBytes(variant.bytes);
            await write(contentKey(prefix, vhash), variant.bytes);
            variants.push({
              encoding: variant.encoding,
              hash: vhash,
              size: variant.bytes.byteLength,
            });
          }
        }
      }
      synced.push({
        path: source.path,
        hash,
        size,
        contentType,
        lastModified: carried?.lastModified ?? now,
        immutable: immutable(source.path),
        inBucket,
        variants,
      });
      onProgress({ done: ++done, total: sources.files.length, uploadedBytes });
    });
    await flush();

    // A large manifest is also published in shards, written like content before anything names them.
    const manifest = createManifest(synced, { prefix, chunk, created: started });
    let pointer: string | undefined;
    if (synced.length > shardSize) {
      const sharded = await shardManifest(manifest, Math.ceil(synced.length / shardSize));
      // Shards are read whole by the runtime, so they are never split into parts.
      const shards = sharded.shards.filter((shard) => !present.has(contentKey(prefix, shard.hash)));
      for (const shard of shards) present.add(contentKey(prefix, shard.hash));
      contentKeys += shards.length;
      await flush();
      await target.putMany(
        shards.map((shard) => ({
          key: contentKey(prefix, shard.hash),
          value: shard.text,
          metadata,
        })),
      );
      manifest.shards = sharded.index.shards;
      pointer = JSON.stringify(sharded.index);
    }

    // A deploy identical to the newest one publishes no new history record: the newest pointer is
    // written again (so it is right whatever happened to it) and names the same history record.
    // The last point to stop: once publishing has begun, it completes.
    stopIfAborted();
    const previous = history[0];
    if (
      previous &&
      JSON.stringify({ ...manifest, created: previous.created }) === JSON.stringify(previous)
    ) {
      const { files: _files, ...index } = previous;
      await target.putMany([
        {
          key: pointerKey(prefix),
          value: JSON.stringify(previous.shards ? index : previous),
        },
      ]);
      const spent = [...journal.records, ...journaled];
      if (spent.length > 0) await target.deleteMany(spent).catch(() => {});
      return {
        manifest: previous,
        stats: summary(
          synced.length,
          newFiles,
          { contentKeys, records: 1 },
          uploadedBytes,
          sources.skipped,
          target,
          started,
          logger,
        ),
      };
    }

    // Only now is every body confirmed written: record the manifest, history first, newest pointer last.
    const json = JSON.stringify(manifest);
    if (json.length > KV_VALUE_LIMIT) {
      fail(
        `the manifest is ${json.length} bytes, over KV's 25 MiB value limit; split the site with prefix or project`,
      );
    }
    await target.putMany([{ key: historyKey(prefix, started), value: json }]);
    await target.putMany([{ key: pointerKey(prefix), value: pointer ?? json }]);
    // The manifest now names what the journal recorded; a failure here only leaves records that age out.
    const spent = [...journal.records, ...journaled];
    if (spent.length > 0) await target.deleteMany(spent).catch(() => {});

    const stats = summary(
      synced.length,
      newFiles,
      { contentKeys, records: 2 },
      uploadedBytes,
      sources.skipped,
      target,
      started,
      logger,
    );
    return { manifest, stats };
  } finally {
    // Writes under way when something failed finish (or fail) before the lock is released.
    await writing.catch(() => {});
    if (lock && target) await releaseLock(target, lock);
    if (!options.target) await (target ?? (await opening.catch(() => undefined)))?.close();
  }
}

function summary(
  files: number,
  newFiles: number,
  counts: { contentKeys: number; records: number },
  uploadedBytes: number,
  skipped: SkippedFile[],
  target: KvTarget,
  started: number,
  logger: SyncLogger,
): SyncResult["stats"] {
  const stats = {
    files,
    newFiles,
    uploadedKeys: counts.contentKeys + counts.records,
    uploadedBytes,
    skipped,
    target: target.description,
    durationMs: Date.now() - started,
  };
  logger.info(
    `[kv-assets] ${files} files, ${newFiles} new (${formatBytes(uploadedBytes)} in ${counts.contentKeys} keys), ` +
      `${files - newFiles} unchanged, ${skipped.length} left out; manifest published to ${target.description} in ${stats.durationMs} ms`,
  );
  return stats;
}

/** A file's hash and size, and for one too large to read whole, the hash of each stored part. */
interface Hashed {
  hash: string;
  size: number;
  parts?: string[];
}

// Hashes a file a block at a time, and each `chunk`-sized part of it on the way, so memory holds
// one block whatever the file's size.
async function hashInBlocks(
  source: Source,
  chunk: number,
  stopIfAborted: () => void,
): Promise<Hashed> {
  const whole = await createHasher();
  const parts: string[] = [];
  let part = await createHasher();
  let inPart = 0;
  for (let offset = 0; offset < source.size; offset += HASH_BLOCK) {
    stopIfAborted();
    const length = Math.min(HASH_BLOCK, source.size - offset);
    let block = await source.readAt(offset, length);
    if (block.byteLength !== length)
      fail(`${source.path} changed while it was being synced; run the sync again`);
    whole.update(block);
    while (block.byteLength > 0) {
      const take = Math.min(block.byteLength, chunk - inPart);
      part.update(block.subarray(0, take));
      inPart += take;
      block = block.subarray(take);
      if (inPart === chunk) {
        parts.push(part.digest());
        part = await createHasher();
        inPart = 0;
      }
    }
  }
  if (inPart > 0) parts.push(part.digest());
  return { hash: whole.digest(), size: source.size, parts };
}

/** Runs the tasks it is given one after the other, whoever calls it. */
function serially(): (task: () => Promise<void>) => Promise<void> {
  let last = Promise.resolve();
  return (task) => {
    const run = last.then(task);
    last = run.catch(() => {});
    return run;
  };
}

/** Bytes read at a time when hashing a file too large to read whole. */
const HASH_BLOCK = 1024 * 1024;

function allPresent(present: Set<string>, key: string, size: number, chunk: number): boolean {
  return partKeys(key, size, chunk).every((k) => present.has(k));
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
