// How a handler looks files up: in a whole manifest, or in a sharded one whose shards are read on demand.

import { boundedMap, type BoundedMap } from "./bounded.js";
import { findPacked } from "./packed.js";
import {
  shardOf,
  toAsset,
  type Asset,
  type ManifestEntry,
  type ManifestSource,
} from "./manifest.js";
import type { Representation } from "./respond.js";

/**
 * File lookups for one handler. Lookups are synchronous so path resolution stays simple; for a
 * sharded manifest, a lookup in a shard not read yet answers `false` and names the shard in
 * `missing`, and the caller reads those shards with {@link Catalog.load} and resolves again.
 */
export interface Catalog {
  /** Bodies larger than this are stored in parts. */
  chunk: number;
  /** Whether `path` is a file. When its shard is not read yet, adds it to `missing` and answers false. */
  has(path: string, missing: Set<number>): boolean;
  /** The file at `path`; only call after `has` answered true. */
  get(path: string): Asset;
  /** Reads shards named in `missing`. */
  load(missing: Set<number>): Promise<void>;
  /**
   * The representations of files answered so far, by status, encoding, Cache-Control and path,
   * the same object for the same answer so its response headers are built once (see respond).
   */
  representations: BoundedMap<string, Representation>;
}

/**
 * The catalog of a manifest: one per manifest object, so what handlers keep per catalog (shards
 * read, prepared responses) outlives a handler made for one request, as `serveAsset` makes.
 */
export function catalogOf(manifest: ManifestSource): Catalog {
  let catalog = catalogs.get(manifest);
  if (catalog === undefined) {
    catalog = {
      ...withRetained(manifest, makeCatalog(manifest)),
      representations: boundedMap(REPRESENTATIONS_KEPT),
    };
    catalogs.set(manifest, catalog);
  }
  return catalog;
}

const catalogs = new WeakMap<ManifestSource, Catalog>();

/**
 * Lookups of a packed manifest kept per catalog (paths beyond this many start a new set), and the
 * longest path kept, so hostile requests cannot make the set large.
 */
const LOOKUPS_KEPT = 4096;
const LOOKUP_PATH_KEPT = 512;

/** Representations kept per catalog. */
const REPRESENTATIONS_KEPT = 1000;

/**
 * Lookups that also find the fingerprinted files earlier deploys had, until their time is up:
 * they are only looked at when the deploy itself has no file at the path.
 */
function withRetained(
  manifest: ManifestSource,
  catalog: Omit<Catalog, "representations">,
): Omit<Catalog, "representations"> {
  const retained = new Map<string, { until: number; entry: ManifestEntry }>();
  // Newest group first: where two deploys had a path, the newer one's file is kept.
  for (const group of manifest.retained ?? []) {
    for (const [path, entry] of Object.entries(group.files)) {
      if (!retained.has(path)) retained.set(path, { until: group.until * 1000, entry });
    }
  }
  if (retained.size === 0) return catalog;
  const live = (path: string): { until: number; entry: ManifestEntry } | undefined => {
    const found = retained.get(path);
    return found !== undefined && found.until > Date.now() ? found : undefined;
  };
  return {
    ...catalog,
    has: (path, missing) => catalog.has(path, missing) || live(path) !== undefined,
    get(path) {
      // Only a retained path asks the deploy again (the sync never retains a path it has).
      const found = live(path);
      return found && !catalog.has(path, new Set())
        ? toAsset(manifest, path, found.entry)
        : catalog.get(path);
    },
  };
}

function makeCatalog(manifest: ManifestSource): Omit<Catalog, "representations"> {
  if ("packed" in manifest) {
    // A lookup is a binary search: the files of recent paths (and the paths not found) are kept.
    const found = boundedMap<string, Asset | undefined>(LOOKUPS_KEPT);
    const find = (path: string): Asset | undefined => {
      if (found.has(path)) return found.get(path);
      const entry = findPacked(manifest.packed, path);
      const asset = entry && toAsset(manifest, path, entry);
      if (path.length > LOOKUP_PATH_KEPT) return asset;
      found.set(path, asset);
      return asset;
    };
    return {
      chunk: manifest.chunk,
      has: (path) => find(path) !== undefined,
      get: (path) => find(path) as Asset,
      load: async () => {},
    };
  }
  if ("files" in manifest) {
    const files = manifest.files;
    return {
      chunk: manifest.chunk,
      has: (path) => Object.hasOwn(files, path),
      get: (path) => toAsset(manifest, path, files[path] as ManifestEntry),
      load: async () => {},
    };
  }

  const count = manifest.shards.length;
  const loaded = new Map<number, Record<string, ManifestEntry>>();
  const filesOf = (path: string): Record<string, ManifestEntry> | undefined =>
    loaded.get(shardOf(path, count));
  return {
    chunk: manifest.chunk,
    has(path, missing) {
      const files = filesOf(path);
      if (files === undefined) {
        missing.add(shardOf(path, count));
        return false;
      }
      // Own properties only: `/__proto__` must not reach Object.prototype.
      return Object.hasOwn(files, path);
    },
    get: (path) => toAsset(manifest, path, (filesOf(path) as Record<string, ManifestEntry>)[path]!),
    async load(missing) {
      const shards = [...missing];
      const read = await Promise.all(shards.map((index) => manifest.readShard(index)));
      shards.forEach((index, i) => loaded.set(index, read[i] as Record<string, ManifestEntry>));
    },
  };
}
