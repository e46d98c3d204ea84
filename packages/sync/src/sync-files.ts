// The upload phase of a sync: for each file, what storage lacks of it (body, parts, variants) is
// read again and written; what it has is carried over from the newest manifest.
import { createHash } from "node:crypto";
import { contentKey, partKeys } from "@kv-assets/runtime/format";
import { contentTypeOf, isCompressible } from "@kv-assets/runtime/publish";
import { changedWhileSyncing } from "./errors.js";
import { hashBytes } from "@kv-assets/runtime/publish";
import type { Hashed } from "./hashing.js";
import type { Trusted } from "./history.js";
import { eachLimited } from "./limit.js";
import type { ManifestFile } from "@kv-assets/runtime/format";
import type { SyncSettings } from "./options.js";
import { linkHeaderOf } from "./early-hints.js";
import { precompress } from "./precompress.js";
import { WHOLE_READ_LIMIT, type Source } from "./sources.js";
import type { Uploader } from "./upload.js";

/** The files as the manifest will name them, and how many had content storage lacked. */
export interface SyncedFiles {
  synced: ManifestFile[];
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
  const synced: ManifestFile[] = [];
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
      settings.precompress.length > 0 &&
      size >= settings.precompressMinSize &&
      size <= WHOLE_READ_LIMIT &&
      isCompressible(contentType);
    const wanted = compressible ? settings.precompress : [];
    // Variants of this content a trusted deploy had, in the encodings this sync makes.
    const kept = (carried?.variants ?? []).filter((v) => wanted.includes(v.encoding));
    // Made again when one is gone from storage, lacks its digest, or an encoding is new here.
    const remake =
      compressible &&
      (!carried ||
        !kept.every((v) => uploader.stored(contentKey(prefix, v.hash), v.size, inBucket)) ||
        (settings.digests && kept.some((v) => v.digest === undefined)) ||
        wanted.some((encoding) => !kept.some((v) => v.encoding === encoding)));
    // A page's links are read from it unless a trusted deploy that looked for them had this content.
    const wantsLink =
      settings.earlyHints && contentType.startsWith("text/html") && carried?.link === undefined;
    const wantsDigest = settings.digests && carried?.digest === undefined;
    let digest = settings.digests ? carried?.digest : undefined;

    let bytes: Uint8Array | undefined;
    if (parts && isNew && !inBucket) {
      newFiles += 1;
      const sha = wantsDigest ? createHash("sha256") : undefined;
      await oneLargeFileAtATime(async () => {
        for (const [i, partKey] of partKeys(key, size, chunk).entries()) {
          stopIfAborted();
          const part = await source.readAt(i * chunk, Math.min(chunk, size - i * chunk));
          if ((await hashBytes(part)) !== parts[i]) changedWhileSyncing(source.path);
          sha?.update(part);
          await uploader.writeValue(partKey, part);
        }
      });
      digest = sha?.digest("base64") ?? digest;
    } else if (isNew || remake || wantsLink || (wantsDigest && size <= WHOLE_READ_LIMIT)) {
      bytes = await source.read();
      if ((await hashBytes(bytes)) !== hash) changedWhileSyncing(source.path);
      if (isNew) {
        newFiles += 1;
        await uploader.write(key, bytes, inBucket);
      }
    }
    if (wantsDigest && digest === undefined) {
      digest = bytes ? sha256(bytes) : await oneLargeFileAtATime(() => digestInParts(source, size));
    }

    let variants = kept;
    if (remake) {
      variants = [];
      // A compressible file fits in memory, even when written in parts (a small partSize).
      if (bytes === undefined) {
        bytes = await source.read();
        if ((await hashBytes(bytes)) !== hash) changedWhileSyncing(source.path);
      }
      const made = await precompress(bytes, {
        encodings: wanted,
        brotliQuality: settings.brotliQuality,
      });
      for (const variant of made) {
        const vhash = await hashBytes(variant.bytes);
        await uploader.write(contentKey(prefix, vhash), variant.bytes, inBucket);
        variants.push({
          encoding: variant.encoding,
          hash: vhash,
          size: variant.bytes.byteLength,
          ...(settings.digests ? { digest: sha256(variant.bytes) } : {}),
        });
      }
    }
    if (!settings.digests) variants = variants.map(({ digest: _digest, ...variant }) => variant);
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
      ...(digest === undefined ? {} : { digest }),
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
function serially(): <T>(task: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = last.then(task);
    last = run.catch(() => {});
    return run;
  };
}

/** The sha-256 of `bytes` in base64, as the manifest records digests. */
function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("base64");
}

/** The sha-256 of a file too large to read whole, read a part at a time. */
async function digestInParts(source: Source, size: number): Promise<string> {
  const sha = createHash("sha256");
  for (let offset = 0; offset < size; offset += WHOLE_READ_LIMIT) {
    sha.update(await source.readAt(offset, Math.min(WHOLE_READ_LIMIT, size - offset)));
  }
  return sha.digest("base64");
}
