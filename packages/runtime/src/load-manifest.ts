// loadManifest: reads a published manifest from KV at request time, for platforms serving many projects.

import { logProblem } from "./log.js";
import { boundedMap, type BoundedMap } from "./bounded.js";
import {
  contentKey,
  isPreviewName,
  isProjectId,
  pointerKey,
  previewKey,
  projectPrefix,
} from "./keys.js";
import {
  validateManifestRecord,
  validateShard,
  type AssetManifest,
  type ManifestEntry,
  type ManifestIndex,
  type ManifestSource,
  type ShardedManifest,
} from "./manifest.js";

/** What `loadManifest` reads from: a `KVNamespace` fits as it is. */
export interface ManifestStorage {
  get(key: string, options: { type: "text"; cacheTtl?: number }): Promise<string | null>;
}

/** Options of {@link loadManifest}. */
export interface LoadManifestOptions {
  /** Project id whose manifest to read: keys under `project/{id}/`, as `kv-assets sync --project` writes them. */
  project?: string;
  /**
   * Key prefix the site was synced with (before `project/{id}/` when both are given).
   * @default ""
   */
  prefix?: string;
  /**
   * Name of a preview to serve instead of the live deploy, as `kv-assets sync --preview <name>`
   * published it: for preview URLs on a platform.
   * @default undefined (the live deploy)
   */
  preview?: string;
  /**
   * Seconds each isolate keeps a manifest before checking KV for a newer deploy.
   * @default 5
   */
  ttl?: number;
  /**
   * `cacheTtl` of the KV read of the manifest record, in seconds (KV's minimum is 30). Together
   * with `ttl` it bounds how long a new deploy takes to show: about 35 seconds at the defaults.
   * @default 30
   */
  cacheTtl?: number;
}

/**
 * Reads the manifest published under a project (or prefix) and keeps it in the isolate for `ttl`
 * seconds, so most requests do no KV read for it. A large manifest published in shards comes back
 * as a {@link ShardedManifest}: only the shards requests touch are ever read. Resolves `null` when
 * nothing is published there, or when the record is unusable (logged once per `ttl`); never rejects.
 *
 * The record must name the prefix it was read from, and every key it yields is that prefix plus a
 * hash, so one project can never read another's files whatever its paths or its record say.
 */
export async function loadManifest(
  storage: ManifestStorage,
  options: LoadManifestOptions = {},
): Promise<ManifestSource | null> {
  const prefix = manifestPrefix(options.prefix ?? "", options.project);
  if (prefix === null) {
    logProblem(
      `project id ${JSON.stringify(options.project)} is not valid; use 1-64 letters, digits, "-" or "_"`,
    );
    return null;
  }
  const preview = options.preview;
  if (preview !== undefined && !isPreviewName(preview)) {
    logProblem(
      `preview name ${JSON.stringify(preview)} is not valid; use 1-22 lower-case letters, digits or "-"`,
    );
    return null;
  }
  const recordKey = preview === undefined ? pointerKey(prefix) : previewKey(prefix, preview);
  const ttl = (options.ttl ?? 5) * 1000;
  // KV refuses a cacheTtl under 30 seconds; a smaller one is raised rather than failing requests.
  const cacheTtl = Math.max(30, options.cacheTtl ?? 30);
  const cache = cacheFor(storage);
  const now = Date.now();
  const cached = cache.get(recordKey);
  if (cached && cached.expires > now) return cached.loading;

  const entry: CacheEntry = { expires: now + ttl, loading: Promise.resolve(null) };
  entry.loading = read(storage, prefix, recordKey, cacheTtl, cached).then(
    ({ text, value }) => {
      entry.text = text;
      entry.value = value;
      return value;
    },
    (error: unknown) => {
      // Keep serving the last good deploy: a broken or unreadable record must not take a site down.
      logProblem(`cannot load the manifest at "${recordKey}": ${String(error)}`);
      entry.text = cached?.text;
      entry.value = cached?.value ?? null;
      return entry.value;
    },
  );
  cache.set(recordKey, entry);
  return entry.loading;
}

/** Key prefix of a project, or `null` when the project id is not one the sync engine accepts. */
export function manifestPrefix(prefix: string, project: string | undefined): string | null {
  if (project === undefined) return prefix;
  if (!isProjectId(project)) return null;
  return projectPrefix(prefix, project);
}

/** Projects each isolate keeps manifests of; the least recently loaded is dropped first. */
const MAX_CACHED = 200;

interface CacheEntry {
  expires: number;
  loading: Promise<ManifestSource | null>;
  /** The record text the value was parsed from, so an unchanged record keeps its read shards. */
  text?: string;
  value?: ManifestSource | null;
}

const caches = new WeakMap<object, BoundedMap<string, CacheEntry>>();

function cacheFor(storage: object): BoundedMap<string, CacheEntry> {
  let cache = caches.get(storage);
  if (!cache) caches.set(storage, (cache = boundedMap(MAX_CACHED)));
  return cache;
}

async function read(
  storage: ManifestStorage,
  prefix: string,
  key: string,
  cacheTtl: number,
  previous: CacheEntry | undefined,
): Promise<{ text?: string; value: ManifestSource | null }> {
  const text = await storage.get(key, { type: "text", cacheTtl });
  if (text === null) return { value: null };
  if (previous?.value && previous.text === text) return { text, value: previous.value };
  return { text, value: parse(text, prefix, storage) };
}

function parse(text: string, prefix: string, storage: ManifestStorage): ManifestSource {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error("the record is not JSON; publish it again with kv-assets sync");
  }
  const { problem, sharded } = validateManifestRecord(value);
  if (problem) throw new Error(`the record is not a valid manifest (${problem})`);
  const manifest = value as AssetManifest | ManifestIndex;
  if (manifest.prefix !== prefix) {
    throw new Error(
      `the record names prefix ${JSON.stringify(manifest.prefix)}, not ${JSON.stringify(prefix)}; refusing to read another project's keys`,
    );
  }
  return sharded ? withShards(manifest as ManifestIndex, storage) : (manifest as AssetManifest);
}

function withShards(index: ManifestIndex, storage: ManifestStorage): ShardedManifest {
  const shards = new Map<number, Promise<Record<string, ManifestEntry>>>();
  return {
    ...index,
    readShard(at) {
      let shard = shards.get(at);
      if (!shard) {
        shard = readShard(storage, index, at);
        shards.set(at, shard);
        // A failed read is retried by the next request rather than remembered.
        shard.catch(() => shards.delete(at));
      }
      return shard;
    },
  };
}

async function readShard(
  storage: ManifestStorage,
  index: ManifestIndex,
  at: number,
): Promise<Record<string, ManifestEntry>> {
  const key = contentKey(index.prefix, index.shards[at] as string);
  // Shards are content-addressed, so they may stay in KV's edge cache for as long as it keeps them.
  const text = await storage.get(key, { type: "text", cacheTtl: 31536000 });
  if (text === null) throw new Error(`manifest shard "${key}" is missing; re-run the sync`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`manifest shard "${key}" is not JSON; re-run the sync`);
  }
  const problem = validateShard(value, index);
  if (problem)
    throw new Error(`manifest shard "${key}" is not valid (${problem}); re-run the sync`);
  return value as Record<string, ManifestEntry>;
}
