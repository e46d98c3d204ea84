// @kv-assets/runtime/publish: a project's files published from inside a Worker, as the sync
// publishes a folder: the same keys and manifest, content written only when storage lacks it, the
// lock protocol prune honours, and the manifest written last.

import {
  createManifest,
  filesByHash,
  shardManifest,
  viteFingerprint,
  type KnownFile,
  type ManifestFile,
} from "./build-manifest.js";
import {
  contentTypeOf,
  isCompressible,
  PRECOMPRESS_MIN_SIZE,
  worthKeeping,
} from "./content-type.js";
import { hashBytes } from "./hash.js";
import {
  contentKey,
  historyKey,
  isContentKey,
  isProjectId,
  partKeys,
  pointerKey,
  projectPrefix,
} from "./keys.js";
import { HEARTBEAT_MS } from "./lock-times.js";
import {
  KV_VALUE_LIMIT,
  validateManifestRecord,
  type AssetManifest,
  type ManifestIndex,
} from "./manifest.js";
import { neverPublished, type NeverPublished } from "./names.js";
import { decodePath } from "./path.js";
import { DEFAULT_RETAIN, retainedGroups, type RetainSettings } from "./retain.js";
import { holds, listAll, takeWorkerLock } from "./worker-locks.js";

export { createManifest, viteFingerprint, type ManifestFile } from "./build-manifest.js";
export {
  contentTypeOf,
  isCompressible,
  PRECOMPRESS_MIN_SIZE,
  worthKeeping,
} from "./content-type.js";
export { createHasher, hashBytes, type Hasher } from "./hash.js";
export { neverPublished, type NeverPublished } from "./names.js";
export {
  pruneProject,
  type PruneProjectOptions,
  type PruneProjectResult,
} from "./prune-project.js";
export { PruneStopped } from "./prune-plan.js";
export {
  deleteProject,
  type DeleteProjectOptions,
  type DeleteProjectResult,
} from "./delete-project.js";
export {
  createUploadHandler,
  decodeBodies,
  encodeBodies,
  MAX_BATCH_BODIES,
  SESSION_TTL,
  type UploadFile,
  type UploadHandler,
  type UploadHandlerOptions,
} from "./upload-handler.js";

/** A file's body as a publisher may give it. */
export type PublishBody = Uint8Array | ArrayBuffer | string | ReadableStream<Uint8Array>;

/** What {@link publishProject} needs of a KV namespace; a `KVNamespace` binding fits as it is. */
export interface PublishStorage {
  get(key: string, type: "text"): Promise<string | null>;
  put(
    key: string,
    value: string | ArrayBuffer | Uint8Array,
    options?: { metadata?: unknown; expirationTtl?: number },
  ): Promise<void>;
  delete(key: string): Promise<void>;
  list(options: { prefix: string; cursor?: string }): Promise<{
    keys: { name: string; metadata?: unknown }[];
    list_complete: boolean;
    cursor?: string;
  }>;
}

/** Options of {@link publishProject}. */
export interface PublishOptions {
  /** The project's id, 1-64 letters, digits, `-` or `_`: its keys go under `project/<id>/`. */
  project: string;
  /** The files, by URL path (`/index.html`). */
  files: Record<string, PublishBody>;
  /**
   * Prefix of every key, before `project/<id>/`, as the sync's `prefix`.
   * @default ""
   */
  prefix?: string;
  /**
   * Which paths are fingerprinted, served with a year of immutable caching.
   * @default Vite's `assets/name-HASH.ext`, as the sync's
   */
  immutable?: (path: string) => boolean;
  /**
   * Make gzip variants of compressible files of 1 KiB or more (a Worker's CompressionStream has
   * no br), kept when at least 5% smaller. Content a deploy had keeps the variants it had.
   * @default true
   */
  precompress?: boolean;
  /**
   * Largest value per key; bigger bodies are stored in parts.
   * @default 26214400 (KV's 25 MiB limit)
   */
  partSize?: number;
  /**
   * How long fingerprinted files the deploy drops stay served, as the sync's `retain`.
   * @default { deploys: 10, seconds: 604800 } (7 days)
   */
  retain?: Partial<RetainSettings> | false;
}

/** What {@link publishProject} did. */
export interface PublishResult {
  /** The manifest it published, as `loadManifest(kv, { project })` now reads it. */
  manifest: AssetManifest;
  /** Files published, and how many had content storage lacked. */
  files: number;
  newFiles: number;
  /** Files left out by their names (secrets, the platform's files, dotfiles), never uploaded. */
  skipped: { path: string; reason: NeverPublished }[];
  /** KV writes made, the manifest's two among them. */
  writes: number;
}

/** Files from which a deploy is also published in shards, as the sync's `shardSize` default. */
const SHARD_SIZE = 1000;

/** A publish refused for something its caller can fix; nothing was published. */
export class PublishError extends Error {
  override name = "PublishError";
}

/**
 * Publishes `files` as the live deploy of `project` in `kv`, from inside a Worker. Content is
 * keyed by its xxh64 as the sync keys it, so a file published here and by `kv-assets sync` is
 * stored once; only content storage lacks is written; Last-Modified and variants of content the
 * live deploy had are carried over; the history record and then the pointer are written last, so
 * a failure before them publishes nothing. A lock record like the sync's keeps a prune from
 * deleting content this publish reuses; while a prune runs, the publish is refused (retry after
 * it). Rejects with a {@link PublishError} for a bad project id or path, or a prune in the way.
 */
export async function publishProject(
  kv: PublishStorage,
  options: PublishOptions,
): Promise<PublishResult> {
  const prefix = prefixOf(options.project, options.prefix);
  const chunk = options.partSize ?? KV_VALUE_LIMIT;
  const immutable = options.immutable ?? viteFingerprint();
  const precompress = options.precompress ?? true;
  const { accepted, skipped } = acceptedFiles(options.files);
  const locked = { prefix, project: options.project, retain: retainOf(options.retain) };
  return withPublishLock(kv, locked, async (run) => {
    let newFiles = 0;
    const files: ManifestFile[] = [];
    for (const { path, body } of accepted) {
      const bytes = await bytesOf(body);
      const hash = await hashBytes(bytes);
      if (await run.store(hash, bytes, chunk)) newFiles += 1;
      const contentType = contentTypeOf(path);
      const carried = run.known.get(hash);
      let variants = (carried?.variants ?? []).filter((v) =>
        run.stored.has(contentKey(prefix, v.hash)),
      );
      const compressible =
        precompress &&
        bytes.byteLength >= PRECOMPRESS_MIN_SIZE &&
        bytes.byteLength <= chunk &&
        isCompressible(contentType);
      if (!compressible) variants = [];
      else if (variants.length === 0) {
        const gzipped = await gzip(bytes);
        if (worthKeeping(gzipped.byteLength, bytes.byteLength)) {
          const vhash = await hashBytes(gzipped);
          await run.store(vhash, gzipped, chunk);
          variants = [{ encoding: "gzip", hash: vhash, size: gzipped.byteLength }];
        }
      }
      files.push({
        path,
        hash,
        size: bytes.byteLength,
        contentType,
        lastModified: carried?.lastModified ?? run.now,
        immutable: immutable(path),
        // A Worker publish records no digests: keep none a sync recorded, so the entry agrees.
        variants: variants.map(({ encoding, hash: vhash, size }) => ({
          encoding,
          hash: vhash,
          size,
        })),
      });
    }
    const manifest = await run.record(files, chunk);
    return { manifest, files: files.length, newFiles, skipped, writes: run.writes() };
  });
}

/** What a publish holding the project's lock can do: store bodies, then record the deploy. */
export interface PublishRun {
  /** Content keys storage holds, listed once the lock was taken, and those written since. */
  stored: Set<string>;
  /** Last-Modified and variants of the content the live deploy had, by hash. */
  known: Map<string, KnownFile>;
  /** The publish's time, in seconds: Last-Modified of new content. */
  now: number;
  /** Writes `bytes` under `hash` (in parts over `chunk`) unless stored; whether it wrote. */
  store(hash: string, bytes: Uint8Array, chunk: number): Promise<boolean>;
  /** Builds the manifest and writes the history record and then the pointer. */
  record(files: ManifestFile[], chunk: number): Promise<AssetManifest>;
  writes(): number;
}

/**
 * Runs `publish` holding a lock record like a sync's, written before it looks at storage, so a
 * prune that starts meanwhile deletes nothing any manifest names; refuses while a prune of the
 * project runs. The lock is removed afterwards, whatever happened.
 */
export async function withPublishLock<T>(
  kv: PublishStorage,
  { prefix, project, retain }: { prefix: string; project: string; retain: RetainSettings },
  publish: (run: PublishRun) => Promise<T>,
): Promise<T> {
  const lock = await takeWorkerLock(kv, prefix, "sync");
  const { started } = lock;
  const metadata = { t: Math.floor(started / 1000) };
  let writes = 1;
  let beat = started;
  const put = async (key: string, value: string | Uint8Array, meta?: unknown): Promise<void> => {
    await kv.put(key, value, meta === undefined ? undefined : { metadata: meta });
    writes += 1;
    // A long publish shows it is alive as a sync does, so no prune takes its lock for a dead one.
    if (Date.now() - beat >= HEARTBEAT_MS) {
      beat = Date.now();
      await lock.renew();
      writes += 1;
    }
  };
  try {
    const stored = new Set<string>();
    for (const key of await listAll(kv, prefix)) {
      if (holds(prefix, "prune", key)) {
        throw new PublishError(
          `[kv-assets] a prune of project ${project} is running; nothing was published, publish again once it is done (at most 10 minutes)`,
        );
      }
      if (isContentKey(prefix, key.name)) stored.add(key.name);
    }
    const live = await liveDeploy(kv, prefix);
    const known = filesByHash(live?.manifest);
    const now = Math.floor(started / 1000);
    return await publish({
      stored,
      known,
      now,
      async store(hash, bytes, chunk) {
        const key = contentKey(prefix, hash);
        if (partKeys(key, bytes.byteLength, chunk).every((k) => stored.has(k))) return false;
        for (const written of await putParts(
          (k, part) => put(k, part, metadata),
          key,
          bytes,
          chunk,
        )) {
          stored.add(written);
        }
        return true;
      },
      async record(files, chunk) {
        const manifest = createManifest(files, {
          prefix,
          chunk,
          created: started,
          acceptVariants: true,
        });
        const present = (key: string, inBucket: boolean) => !inBucket && stored.has(key);
        const retained = retainedGroups(live?.manifest, manifest, retain, now, present);
        if (retained.length > 0) manifest.retained = retained;
        // A large site is also published in shards, as a sync publishes it, so a Worker that
        // loads it reads only the shards its requests need.
        const sharded =
          files.length > SHARD_SIZE
            ? await shardManifest(manifest, Math.ceil(files.length / SHARD_SIZE))
            : undefined;
        if (sharded) manifest.shards = sharded.index.shards;
        const json = JSON.stringify(manifest);
        // An unchanged deploy writes nothing: the live record already says all of it.
        if (live && JSON.stringify({ ...manifest, created: live.manifest.created }) === live.text) {
          return live.manifest;
        }
        if (json.length > KV_VALUE_LIMIT) {
          throw new PublishError(
            `[kv-assets] the manifest of project ${project} is ${json.length} bytes, over KV's 25 MiB value limit; publish fewer files per project`,
          );
        }
        for (const shard of sharded?.shards ?? []) {
          const key = contentKey(prefix, shard.hash);
          if (stored.has(key)) continue;
          await put(key, shard.text, metadata);
          stored.add(key);
        }
        await put(historyKey(prefix, started), json);
        await put(pointerKey(prefix), sharded ? JSON.stringify(sharded.index) : json);
        return manifest;
      },
      writes: () => writes,
    });
  } finally {
    await lock.release();
  }
}

/** Writes `bytes` under `key`, in parts of `chunk` when larger (see `partKeys`); the keys written. */
export async function putParts(
  put: (key: string, part: Uint8Array) => Promise<void>,
  key: string,
  bytes: Uint8Array,
  chunk: number,
): Promise<string[]> {
  const keys = partKeys(key, bytes.byteLength, chunk);
  for (const [i, partKey] of keys.entries()) {
    await put(partKey, bytes.subarray(i * chunk, (i + 1) * chunk));
  }
  return keys;
}

/** The retention a publish runs with, from its `retain` option. */
export function retainOf(retain: Partial<RetainSettings> | false | undefined): RetainSettings {
  if (retain === false) return { deploys: 0, seconds: 0 };
  return {
    deploys: retain?.deploys ?? DEFAULT_RETAIN.deploys,
    seconds: retain?.seconds ?? DEFAULT_RETAIN.seconds,
  };
}

/** The key prefix of `project`, or a {@link PublishError} naming a bad id. */
export function prefixOf(project: string, prefix = ""): string {
  if (!isProjectId(project)) {
    throw new PublishError(
      `[kv-assets] project id ${JSON.stringify(project)} is not valid; use 1-64 letters, digits, "-" or "_", starting with a letter or digit`,
    );
  }
  return projectPrefix(prefix, project);
}

/** Whether `path` is a clean URL path a file can be published at, like `/index.html`. */
export function isFilePath(path: string): boolean {
  return decodePath(path) === path && !path.endsWith("/");
}

function acceptedFiles(files: Record<string, PublishBody>): {
  accepted: { path: string; body: PublishBody }[];
  skipped: { path: string; reason: NeverPublished }[];
} {
  const accepted: { path: string; body: PublishBody }[] = [];
  const skipped: { path: string; reason: NeverPublished }[] = [];
  for (const [path, body] of Object.entries(files)) {
    if (!isFilePath(path)) {
      throw new PublishError(
        `[kv-assets] file path ${JSON.stringify(path)} is not a clean absolute path like "/index.html"`,
      );
    }
    const reason = neverPublished(path.slice(1));
    if (reason) skipped.push({ path, reason });
    else accepted.push({ path, body });
  }
  return { accepted, skipped };
}

/**
 * The live deploy's whole manifest and its text: the pointer when it is whole, else the history
 * record of the deploy a sharded pointer names. `undefined` when there is none that reads.
 */
async function liveDeploy(
  kv: PublishStorage,
  prefix: string,
): Promise<{ manifest: AssetManifest; text: string } | undefined> {
  const pointer = await kv.get(pointerKey(prefix), "text");
  const parsed = pointer === null ? undefined : recordOf(pointer);
  if (parsed === undefined) return undefined;
  if (!parsed.sharded) return { manifest: parsed.value as AssetManifest, text: pointer! };
  const created = (parsed.value as ManifestIndex).created ?? 0;
  const text = await kv.get(historyKey(prefix, created), "text");
  const whole = text === null ? undefined : recordOf(text);
  return whole && !whole.sharded
    ? { manifest: whole.value as AssetManifest, text: text! }
    : undefined;
}

function recordOf(text: string): { value: unknown; sharded: boolean } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { problem, sharded } = validateManifestRecord(value);
  return problem ? undefined : { value, sharded };
}

async function bytesOf(body: PublishBody): Promise<Uint8Array> {
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  return new Uint8Array(await new Response(body).arrayBuffer());
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
