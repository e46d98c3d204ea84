// Builds the compact manifest the runtime reads, and checks the key prefix of the site it is for.
import {
  FLAG_BUCKET,
  FLAG_IMMUTABLE,
  MANIFEST_VERSION,
  contentKey,
  isProjectId,
  KV_KEY_LIMIT,
  KV_VALUE_LIMIT,
  longestKey,
  partKeys,
  projectPrefix,
  alternatePath,
  linkOf,
  shardOf,
  validateManifestRecord,
  type PageLinks,
} from "@kv-assets/runtime/format";
import {
  validateManifest,
  type AssetManifest,
  type ContentEncoding,
  type EntryMore,
  type ManifestEntry,
  type ManifestIndex,
  type ManifestVariant,
} from "@kv-assets/runtime";
import { fail } from "./errors.js";
import { hashBytes } from "./hash.js";

/** A file as the sync engine knows it once hashed. */
export interface SyncedFile {
  path: string;
  hash: string;
  size: number;
  contentType: string;
  /** Last-Modified in seconds since the epoch. */
  lastModified: number;
  immutable: boolean;
  /** Whether the bodies went to the R2 bucket, whole. */
  inBucket?: boolean;
  variants: { encoding: ContentEncoding; hash: string; size: number; digest?: string }[];
  /** The page's Link header for Early Hints: a string, `null` when it has none, absent when not looked for. */
  link?: string | null;
  /** The sha-256 of the bytes in base64, when the sync records digests. */
  digest?: string;
}

/**
 * Turns `prefix` and `project` into the key prefix of a site, checking both, and that the site's
 * longest key (content of up to `maxParts` parts) fits KV's key limit.
 */
export function resolvePrefix(
  prefix: string,
  project: string | undefined,
  maxParts = DEFAULT_MAX_PARTS,
): string {
  if (/[\u0000-\u001f\u007f]/.test(prefix))
    fail(
      `prefix ${JSON.stringify(prefix)} contains control characters; use letters, digits, "/", "-" or "_"`,
    );
  if (project !== undefined && !isProjectId(project)) {
    fail(
      `project id ${JSON.stringify(project)} is not valid; use 1-64 letters, digits, "-" or "_", starting with a letter or digit`,
    );
  }
  const result = project === undefined ? prefix : projectPrefix(prefix, project);
  const longest = longestKey(result, maxParts);
  if (longest > KV_KEY_LIMIT) {
    const room = KV_KEY_LIMIT - (longest - Buffer.byteLength(result));
    fail(
      `prefix is ${Buffer.byteLength(result)} bytes, so keys would reach ${longest} bytes; KV keys are limited to ${KV_KEY_LIMIT} bytes, so keep the prefix (with project/<id>/) to ${room} bytes`,
    );
  }
  return result;
}

/** Parts of the largest file by default: 1 GiB (`maxFileSize`) in 25 MiB parts. */
export const DEFAULT_MAX_PARTS = Math.ceil((1024 * 1024 * 1024) / KV_VALUE_LIMIT);

/** Splits a manifest's files into `count` shards by path, for publishing a large site. */
export async function shardManifest(
  manifest: AssetManifest,
  count: number,
): Promise<{ index: ManifestIndex; shards: { hash: string; text: string }[] }> {
  const groups: Record<string, ManifestEntry>[] = Array.from({ length: count }, () => ({}));
  for (const [path, entry] of Object.entries(manifest.files)) {
    (groups[shardOf(path, count)] as Record<string, ManifestEntry>)[path] = entry;
  }
  const encoder = new TextEncoder();
  const shards = await Promise.all(
    groups.map(async (files) => {
      const text = JSON.stringify(files);
      return { hash: await hashBytes(encoder.encode(text)), text };
    }),
  );
  const { files: _files, shards: _shards, ...tables } = manifest;
  return { index: { ...tables, shards: shards.map((s) => s.hash) }, shards };
}

/** Parses the newest pointer: a whole manifest, or the index of a sharded one. */
export function parseManifestRecord(text: string): AssetManifest | ManifestIndex {
  const value: unknown = JSON.parse(text);
  const { problem } = validateManifestRecord(value);
  if (problem) throw new Error(problem);
  return value as AssetManifest | ManifestIndex;
}

/** Parses a stored manifest record; throws an Error naming the problem when it is not valid JSON or not a manifest. */
export function parseManifest(text: string): AssetManifest {
  const value: unknown = JSON.parse(text);
  const problem = validateManifest(value);
  if (problem) throw new Error(problem);
  return value as AssetManifest;
}

/**
 * Turns synced files into a manifest, each under `basePath` (default `/`). Tables are filled in
 * first-seen order so output is stable.
 */
export function createManifest(
  files: SyncedFile[],
  {
    prefix,
    chunk,
    created,
    basePath = "/",
    earlyHints = false,
    acceptVariants = false,
  }: {
    prefix: string;
    chunk: number;
    created: number;
    basePath?: string;
    earlyHints?: boolean;
    /** Record the files beside each page or image in other types; see {@link alternatesOf}. */
    acceptVariants?: boolean;
  },
): AssetManifest {
  const links: PageLinks = { values: [], pages: {} };
  const types: string[] = [];
  const times: number[] = [];
  const entries: Record<string, ManifestEntry> = {};
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : 1));
  const alternates = acceptVariants ? alternatesOf(sorted) : new Map<SyncedFile, SyncedFile[]>();
  for (const file of sorted) {
    const head = [
      file.hash,
      file.size,
      tableIndex(types, file.contentType),
      tableIndex(times, file.lastModified),
      (file.immutable ? FLAG_IMMUTABLE : 0) | (file.inBucket ? FLAG_BUCKET : 0),
    ] as const;
    const variants = file.variants.map((v): ManifestVariant =>
      v.digest === undefined
        ? [v.encoding, v.hash, v.size]
        : [v.encoding, v.hash, v.size, v.digest],
    );
    const more: EntryMore = {};
    if (file.digest !== undefined) more.digest = file.digest;
    const others = alternates.get(file);
    if (others) {
      more.alternates = others.map((other) => [
        other.path.slice(other.path.lastIndexOf(".") + 1),
        tableIndex(types, other.contentType),
      ]);
    }
    entries[basePath.slice(0, -1) + file.path] =
      Object.keys(more).length > 0
        ? [...head, variants, more]
        : variants.length > 0
          ? [...head, variants]
          : [...head];
    if (earlyHints && typeof file.link === "string")
      links.pages[file.hash] = tableIndex(links.values, file.link);
  }
  const manifest: AssetManifest = {
    v: MANIFEST_VERSION,
    prefix,
    chunk,
    types,
    times,
    files: entries,
    created,
  };
  if (earlyHints) manifest.links = links;
  return manifest;
}

/**
 * Extensions of the files that stand for the same content in another type, by the extension of
 * the file they stand beside: images beside a JPEG, PNG or GIF, Markdown beside a page.
 */
const ALTERNATES: Record<string, string[]> = {
  jpg: ["avif", "webp"],
  jpeg: ["avif", "webp"],
  png: ["avif", "webp"],
  gif: ["avif", "webp"],
  html: ["md"],
};

/**
 * The alternates of each file that has any: the files at its path with its extension replaced
 * (see `alternatePath`), as {@link ALTERNATES} allows, smallest first, so a client that accepts
 * several equally gets the fewest bytes.
 */
export function alternatesOf(files: readonly SyncedFile[]): Map<SyncedFile, SyncedFile[]> {
  const byPath = new Map(files.map((file) => [file.path, file]));
  const found = new Map<SyncedFile, SyncedFile[]>();
  for (const file of files) {
    const slash = file.path.lastIndexOf("/");
    const dot = file.path.lastIndexOf(".");
    if (dot <= slash + 1) continue;
    const extensions = ALTERNATES[file.path.slice(dot + 1).toLowerCase()] ?? [];
    const others = extensions
      .map((extension) => byPath.get(alternatePath(file.path, extension)))
      .filter((other): other is SyncedFile => other !== undefined)
      .sort((a, b) => a.size - b.size);
    if (others.length > 0) found.set(file, others);
  }
  return found;
}

/** The index of `value` in a manifest table (types, times, Link values), added at the end when new. */
export function tableIndex<T>(list: T[], value: T): number {
  const at = list.indexOf(value);
  return at === -1 ? list.push(value) - 1 : at;
}

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

/** What a sync carries over for content an earlier deploy had. */
export type KnownFile = Pick<SyncedFile, "lastModified" | "variants" | "link" | "digest">;

/** Files of a manifest by content hash, to carry Last-Modified and variants into the next sync. */
export function filesByHash(manifest: AssetManifest | undefined): Map<string, KnownFile> {
  const byHash = new Map<string, KnownFile>();
  if (!manifest) return byHash;
  for (const [hash, , , time, , variants, more] of Object.values(manifest.files)) {
    const lastModified = manifest.times[time];
    if (lastModified === undefined || byHash.has(hash)) continue;
    byHash.set(hash, {
      lastModified,
      variants: (variants ?? []).map(([encoding, vhash, size, digest]) => ({
        encoding,
        hash: vhash,
        size,
        ...(digest === undefined ? {} : { digest }),
      })),
      ...(more?.digest === undefined ? {} : { digest: more.digest }),
      // Known only when that sync looked for links: then a page without any has `null`.
      ...(manifest.links ? { link: linkOf(manifest.links, hash) ?? null } : {}),
    });
  }
  return byHash;
}

/**
 * Default test for fingerprinted files: Vite's hashed output, `assets/name-HASH.ext` with an
 * 8-character base64url hash. Such files may be cached for a year. The Vite plugin knows exactly
 * which files it hashed; this is the guess for other builds.
 */
export function viteFingerprint(assetsDir = "assets"): (path: string) => boolean {
  const dir = assetsDir.replace(/^\/+|\/+$/g, "");
  const pattern = new RegExp(
    `^/${escapeRegExp(dir)}/(?:.+/)?[^/]+-([A-Za-z0-9_-]{8})\\.[A-Za-z0-9]+$`,
  );
  return function isFingerprinted(path) {
    // A hash is base64url: one that is a plain lower-case word (`-document`) is a name, not a hash.
    const hash = pattern.exec(path)?.[1];
    return hash !== undefined && /[A-Z0-9_-]/.test(hash);
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
