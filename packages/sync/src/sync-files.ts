// The upload phase of a sync: for each file, what storage lacks of it (body, parts, variants) is
// read again and written; what it has is carried over from the newest manifest.
import { contentKey, partKeys } from "@kv-assets/runtime/format";
import { contentTypeOf, isCompressible } from "./content-type.js";
import { changedWhileSyncing } from "./errors.js";
import { hashBytes } from "./hash.js";
import type { Hashed } from "./hashing.js";
import type { Trusted } from "./history.js";
import { eachLimited } from "./limit.js";
import type { SyncedFile } from "./manifest.js";
import type { SyncSettings } from "./options.js";
import { linkHeaderOf } from "./early-hints.js";
import { precompress } from "./precompress.js";
import { WHOLE_READ_LIMIT, type Source } from "./sources.js";
import type { Uploader } from "./upload.js";

/** The files as the manifest will name them, and how many had content storage lacked. */
export interface SyncedFiles {
  synced: SyncedFile[];
  newFiles: number;
}

/**
 * Writes what storage lacks of every file, eight files at a time. A file is read again only when
 * something of it must be written: whole when it fits in memory, otherwise one stored part at a
 * time, each checked against its hash from the first read, so no part is written with bytes
 * other than those its hash was taken over; such files go one at a time.
 */
export async function syncFiles(
  sources: Source[],
  hashed: Map<Source, Hashed>,
  trusted: Pick<Trusted, "known" | "bucket">,
  uploader: Uploader,
  settings: SyncSettings,
  stopIfAborted: () => void,
): Promise<SyncedFiles> {
  const { prefix, chunk } = settings;
  const now = Math.floor(settings.started / 1000);
  const oneLargeFileAtATime = serially();
  const synced: SyncedFile[] = [];
  let newFiles = 0;
  await eachLimited(sources, 8, async (source) => {
    stopIfAborted();
    const { hash, size, parts } = hashed.get(source) as Hashed;
    const contentType = contentTypeOf(source.path);
    const carried = trusted.known.get(hash);
    const key = contentKey(prefix, hash);
    const inBucket = trusted.bucket !== undefined && size >= (settings.r2?.minSize ?? Infinity);
    const isNew = !uploader.stored(key, size, inBucket);
    const compressible =
      settings.precompress &&
      size >= settings.precompressMinSize &&
      size <= WHOLE_READ_LIMIT &&
      isCompressible(contentType);
    // A page's links are read from it unless a trusted deploy that looked for them had this content.
    const wantsLink =
      settings.earlyHints && contentType.startsWith("text/html") && carried?.link === undefined;
    const remake =
      !carried ||
      !carried.variants.every((v) => uploader.stored(contentKey(prefix, v.hash), v.size, inBucket));

    let bytes: Uint8Array | undefined;
    if (parts && isNew && !inBucket) {
      newFiles += 1;
      await oneLargeFileAtATime(async () => {
        for (const [i, partKey] of partKeys(key, size, chunk).entries()) {
          stopIfAborted();
          const part = await source.readAt(i * chunk, Math.min(chunk, size - i * chunk));
          if ((await hashBytes(part)) !== parts[i]) changedWhileSyncing(source.path);
          await uploader.writeValue(partKey, part);
        }
      });
    } else if (isNew || (remake && compressible) || wantsLink) {
      bytes = await source.read();
      if ((await hashBytes(bytes)) !== hash) changedWhileSyncing(source.path);
      if (isNew) {
        newFiles += 1;
        await uploader.write(key, bytes, inBucket);
      }
    }

    let variants = carried?.variants ?? [];
    if (remake) {
      variants = [];
      if (compressible) {
        for (const variant of await precompress(bytes as Uint8Array, settings.brotliQuality)) {
          const vhash = await hashBytes(variant.bytes);
          await uploader.write(contentKey(prefix, vhash), variant.bytes, inBucket);
          variants.push({
            encoding: variant.encoding,
            hash: vhash,
            size: variant.bytes.byteLength,
          });
        }
      }
    }
    const link = !settings.earlyHints
      ? undefined
      : wantsLink && bytes
        ? (linkHeaderOf(new TextDecoder().decode(bytes)) ?? null)
        : carried?.link;
    synced.push({
      ...(link === undefined ? {} : { link }),
      path: source.path,
      hash,
      size,
      contentType,
      lastModified: carried?.lastModified ?? now,
      immutable: settings.immutable(source.path),
      inBucket,
      variants,
    });
    settings.onProgress({
      done: synced.length,
      total: sources.length,
      uploadedBytes: uploader.tally.bytes,
    });
  });
  await uploader.flush();
  return { synced, newFiles };
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
