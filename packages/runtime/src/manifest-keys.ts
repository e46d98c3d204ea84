// The storage keys a manifest references, of its files and of the retained files still served:
// what prune keeps, what rollback checks, what retention confirms. Shared by every publisher.
import { contentKey, partKeys } from "./keys.js";
import { FLAG_BUCKET, type AssetManifest, type ManifestEntry } from "./manifest.js";

/**
 * Whether storage holds every key of the one file `entry` of `manifest` at `path`: its body,
 * variants and their parts, in KV or in the bucket, as `has` says.
 */
export function isStored(
  manifest: AssetManifest,
  path: string,
  entry: ManifestEntry,
  has: (key: string, inBucket: boolean) => boolean,
): boolean {
  const one: AssetManifest = {
    ...manifest,
    shards: undefined,
    retained: undefined,
    files: { [path]: entry },
  };
  for (const key of manifestKeys(one)) if (!has(key, false)) return false;
  for (const key of bucketKeys(one)) if (!has(key, true)) return false;
  return true;
}

/**
 * Every KV key a manifest references: shards, bodies, variants and their parts, of its files and
 * of the retained files whose time is not up at `now` (seconds).
 */
export function manifestKeys(manifest: AssetManifest, now = Date.now() / 1000): Set<string> {
  const keys = new Set<string>();
  for (const hash of manifest.shards ?? []) keys.add(contentKey(manifest.prefix, hash));
  for (const [hash, size, , , flags, variants] of entriesOf(manifest, now)) {
    if (flags & FLAG_BUCKET) continue;
    for (const key of partKeys(contentKey(manifest.prefix, hash), size, manifest.chunk))
      keys.add(key);
    for (const [, vhash, vsize] of variants ?? []) {
      for (const key of partKeys(contentKey(manifest.prefix, vhash), vsize, manifest.chunk))
        keys.add(key);
    }
  }
  return keys;
}

/** Every R2 key a manifest references: bodies and variants of files in the bucket, whole. */
export function bucketKeys(manifest: AssetManifest, now = Date.now() / 1000): Set<string> {
  const keys = new Set<string>();
  for (const [hash, , , , flags, variants] of entriesOf(manifest, now)) {
    if (!(flags & FLAG_BUCKET)) continue;
    keys.add(contentKey(manifest.prefix, hash));
    for (const [, vhash] of variants ?? []) keys.add(contentKey(manifest.prefix, vhash));
  }
  return keys;
}

// The entries of a manifest's files, and of its retained files still served at `now`.
function entriesOf(manifest: AssetManifest, now: number): ManifestEntry[] {
  const entries = Object.values(manifest.files);
  for (const group of manifest.retained ?? []) {
    if (group.until > now) entries.push(...Object.values(group.files));
  }
  return entries;
}
