// The hash phase of a sync: every file's xxh64, read once, before storage is even open.
import { changedWhileSyncing, fail } from "./errors.js";
import { createHasher, hashBytes } from "@kv-assets/runtime/publish";
import { eachLimited } from "./limit.js";
import type { SyncSettings } from "./options.js";
import { SYNC_READ_LIMIT, WHOLE_READ_LIMIT, type Source } from "./sources.js";

/** A file's hash and size, and for one too large to read whole, the hash of each stored part. */
export interface Hashed {
  hash: string;
  size: number;
  parts?: string[];
}

/**
 * Hashes every source. A file over `maxFileSize` is refused from its size, before anything is
 * read. Small files are read synchronously (far fewer round trips through the thread pool), with
 * a pause now and then so local KV keeps starting; larger ones asynchronously, a few at a time,
 * and those too large to hold in memory a block at a time.
 */
export async function hashSources(
  sources: Source[],
  settings: Pick<SyncSettings, "chunk" | "maxFileSize">,
  stopIfAborted: () => void,
): Promise<Map<Source, Hashed>> {
  const oversized = sources.find((source) => source.size > settings.maxFileSize);
  if (oversized) {
    fail(
      `${oversized.path} is ${oversized.size} bytes, over the ${settings.maxFileSize}-byte limit; exclude it or raise maxFileSize (--max-file-size)`,
    );
  }
  const hashed = new Map<Source, Hashed>();
  const hashWhole = async (source: Source, bytes: Uint8Array): Promise<void> => {
    stopIfAborted();
    hashed.set(source, { hash: await hashBytes(bytes), size: bytes.byteLength });
  };
  const small = sources.filter((f) => f.readSync && f.size <= SYNC_READ_LIMIT);
  const smallSet = new Set(small);
  for (const [i, source] of small.entries()) {
    await hashWhole(source, (source.readSync as () => Uint8Array)());
    if (i % 256 === 255) await new Promise((resolve) => setImmediate(resolve));
  }
  const large = sources.filter((f) => !smallSet.has(f));
  await eachLimited(large, 8, async (source) => {
    if (source.size <= WHOLE_READ_LIMIT) return hashWhole(source, await source.read());
    hashed.set(source, await hashInBlocks(source, settings.chunk, stopIfAborted));
  });
  return hashed;
}

/** Bytes read at a time when hashing a file too large to read whole. */
const HASH_BLOCK = 1024 * 1024;

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
    if (block.byteLength !== length) changedWhileSyncing(source.path);
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
