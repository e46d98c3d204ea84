// The manifest format shared by the sync engine (which writes it) and the runtime (which reads it).

import { compilePattern } from "./pattern.js";
import type { HeaderRule } from "./headers-file.js";
import { contentKey } from "./keys.js";
import type { PackedManifest } from "./packed.js";
import { isRedirectStatus, type RedirectRule } from "./redirects-file.js";

/** Version of the manifest format this runtime reads. */
export const MANIFEST_VERSION = 1;

/** Largest value Workers KV stores under one key (25 MiB). */
export const KV_VALUE_LIMIT = 25 * 1024 * 1024;

/**
 * Everything the runtime needs to answer a request without reading storage, except the body.
 * Kept compact on purpose: entries are tuples and repeated strings live in tables, so tens of
 * thousands of files still fit a Worker bundle.
 */
export interface AssetManifest {
  /** Format version; see {@link MANIFEST_VERSION}. */
  v: typeof MANIFEST_VERSION;
  /** Prefix of every storage key this manifest references, e.g. `""` or `"project/acme/"`. */
  prefix: string;
  /** Bodies larger than this many bytes are stored in parts under `${key}.${index}`. */
  chunk: number;
  /** Content types (with charset where it applies), referenced by index from entries. */
  types: string[];
  /** Last-Modified times in seconds since the epoch, referenced by index from entries. */
  times: number[];
  /** URL path (decoded, starting with `/`) to entry. */
  files: Record<string, ManifestEntry>;
  /** When the sync that produced this manifest ran, in milliseconds since the epoch. */
  created?: number;
  /**
   * Content hashes of the shards the sync also stored these files in (see {@link ManifestIndex}),
   * so prune keeps them; absent when the manifest was small enough to publish whole.
   */
  shards?: string[];
  /** The rules of the site's `_headers` file, applied to every response the site's files get. */
  headers?: HeaderRule[];
  /** The rules of the site's `_redirects` file, applied before any file is looked up. */
  redirects?: RedirectRule[];
  /**
   * Fingerprinted files of earlier deploys that this one no longer has, still served until
   * `until` (seconds since the epoch) so pages loaded before the deploy keep working. One group
   * per deploy that removed files, newest first.
   */
  retained?: RetainedFiles[];
  /**
   * The `Link` headers of HTML pages: what each page preloads, read from it at build time and
   * sent with its 200 and 304, so Cloudflare can answer 103 Early Hints before the Worker runs.
   * Each value once (pages of a site often share one), and the index of each page's by the page's
   * content hash. Present (maybe empty) when the sync looked for them.
   */
  links?: PageLinks;
}

/** Link values once each, and the index of each page's value by the page's content hash. */
export interface PageLinks {
  values: string[];
  pages: Record<string, number>;
}

/** The Link value of the page with content `hash`, or `undefined` when it has none. */
export function linkOf(links: PageLinks | undefined, hash: string): string | undefined {
  if (links === undefined || !Object.hasOwn(links.pages, hash)) return undefined;
  return links.values[links.pages[hash] as number];
}

/** Files an earlier deploy had, served until `until` (seconds since the epoch). */
export interface RetainedFiles {
  until: number;
  files: Record<string, ManifestEntry>;
}

/**
 * The form a large manifest is published in: the tables, and the files split into shards by
 * {@link shardOf}. Each shard is a JSON object of path to entry stored under `prefix + hash`, so a
 * Worker reads only the shards the requests it serves touch, never the whole file list.
 */
export interface ManifestIndex extends Omit<AssetManifest, "files" | "shards"> {
  /** Content hash of each shard, in shard order. */
  shards: string[];
}

/** A {@link ManifestIndex} that can read its shards, as `loadManifest` returns it. */
export interface ShardedManifest extends ManifestIndex {
  /** Reads shard `index` (cached after the first read). Rejects with a clear message when it cannot. */
  readShard(index: number): Promise<Record<string, ManifestEntry>>;
}

/**
 * What serveAsset serves from: a whole manifest (loaded or built by hand), the packed form the
 * Vite plugin compiles in, or a sharded one.
 */
export type ManifestSource = AssetManifest | PackedManifest | ShardedManifest;

/**
 * One file: `[hash, size, typeIndex, timeIndex, flags, variants?, more?]`.
 * The hash is the xxh64 of the bytes in hex; the storage key is `prefix + hash`.
 */
export type ManifestEntry = [
  hash: string,
  size: number,
  type: number,
  time: number,
  flags: number,
  variants?: ManifestVariant[],
  more?: EntryMore,
];

/** What only some files have, beside their variants. */
export interface EntryMore {
  /** The sha-256 of the identity body, in base64 (RFC 9530's `Repr-Digest`). */
  digest?: string;
  /**
   * Files beside this one with the same content in another type, `[extension, typeIndex]`, in
   * the order they are preferred: the file at this path with its extension replaced (see
   * {@link alternatePath}), chosen by the request's Accept.
   */
  alternates?: [extension: string, type: number][];
}

/** A precompressed body of a file: `[encoding, hash, size, digest?]` (digest as in {@link EntryMore}). */
export type ManifestVariant = [
  encoding: ContentEncoding,
  hash: string,
  size: number,
  digest?: string,
];

/** Encodings the sync engine precompresses to, in the order it lists them (smallest first). */
export type ContentEncoding = "br" | "zstd" | "gzip";

/** Every {@link ContentEncoding}. */
export const CONTENT_ENCODINGS: readonly ContentEncoding[] = ["br", "zstd", "gzip"];

/**
 * The path of a file's alternate with `extension`: `/photo.jpg` and `webp` give `/photo.webp`,
 * `/docs/index.html` and `md` give `/docs/index.md`.
 */
export function alternatePath(path: string, extension: string): string {
  const slash = path.lastIndexOf("/");
  const dot = path.lastIndexOf(".");
  return `${dot > slash ? path.slice(0, dot) : path}.${extension}`;
}

/** Entry flag: the file name carries a content hash, so it may be cached forever. */
export const FLAG_IMMUTABLE = 1;

/** Entry flag: the body and its variants are in the bucket (R2), stored whole, not in KV. */
export const FLAG_BUCKET = 2;

/** A file of the manifest in readable form. */
export interface Asset {
  /** URL path of the file. */
  path: string;
  /** Storage key of the identity body (the base of its part keys when stored in parts). */
  key: string;
  /** Strong entity tag, quoted. */
  etag: string;
  /** Size of the identity body in bytes. */
  size: number;
  /** Content-Type header value. */
  contentType: string;
  /** Last-Modified time in seconds since the epoch. */
  lastModified: number;
  /** Whether the path is fingerprinted (safe to cache for a year). */
  immutable: boolean;
  /** Whether the bodies are in the bucket (R2) rather than KV; see {@link FLAG_BUCKET}. */
  inBucket: boolean;
  /** Precompressed variants, best first as the sync engine wrote them. */
  variants: AssetVariant[];
  /** The page's `Link` header for Early Hints, when the build found any. */
  link?: string;
  /** The sha-256 of the body in base64, when the sync recorded digests. */
  digest?: string;
  /** Files with this content in other types, chosen by Accept; preferred first. */
  alternates?: AssetAlternate[];
}

/** A precompressed body of an {@link Asset}. */
export interface AssetVariant {
  encoding: ContentEncoding;
  key: string;
  etag: string;
  size: number;
  /** The sha-256 of these bytes in base64, when the sync recorded digests. */
  digest?: string;
}

/** Another type of an {@link Asset}'s content: the file at `path`. */
export interface AssetAlternate {
  path: string;
  contentType: string;
}

/** Returns the file at `path` (a decoded URL path), or `undefined` when the manifest has none. */
export function getAsset(manifest: AssetManifest, path: string): Asset | undefined {
  // Own properties only: a path like `/__proto__` or `constructor` must not reach Object.prototype.
  if (!Object.hasOwn(manifest.files, path)) return undefined;
  const entry = manifest.files[path];
  return entry ? toAsset(manifest, path, entry) : undefined;
}

/** The readable form of one entry, with keys under the manifest's prefix. */
export function toAsset(
  manifest: Omit<AssetManifest, "files">,
  path: string,
  entry: ManifestEntry,
): Asset {
  const [hash, size, type, time, flags, variants, more] = entry;
  const link = linkOf(manifest.links, hash);
  const asset: Asset = {
    path,
    key: contentKey(manifest.prefix, hash),
    etag: `"${hash}"`,
    size,
    contentType: typeOf(manifest, type),
    lastModified: manifest.times[time] ?? 0,
    immutable: (flags & FLAG_IMMUTABLE) !== 0,
    inBucket: (flags & FLAG_BUCKET) !== 0,
    variants: (variants ?? []).map(([encoding, vhash, vsize, digest]) => ({
      encoding,
      key: contentKey(manifest.prefix, vhash),
      etag: `"${vhash}"`,
      size: vsize,
      ...(digest !== undefined ? { digest } : {}),
    })),
  };
  if (link !== undefined) asset.link = link;
  if (more?.digest !== undefined) asset.digest = more.digest;
  if (more?.alternates !== undefined) {
    asset.alternates = more.alternates.map(([extension, alternateType]) => ({
      path: alternatePath(path, extension),
      contentType: typeOf(manifest, alternateType),
    }));
  }
  return asset;
}

function typeOf(manifest: Pick<AssetManifest, "types">, index: number): string {
  return manifest.types[index] ?? "application/octet-stream";
}

/**
 * The shard (of `count`) that holds `path`: FNV-1a over the path's UTF-16 code units, after
^ * dropping trailing `/index.html`, `.html`, `/index` and `/`. So `/a`, `/a/`, `/a.html` and
 * `/a/index.html`, the paths html handling tries for one URL, all live in one shard. The sync
 * engine and the runtime must agree on it, so it never changes within a manifest version.
 */
export function shardOf(path: string, count: number): number {
  const page = path.replace(/(?:\/index\.html|\.html|\/index|\/)+$/, "");
  let hash = 0x811c9dc5;
  for (let i = 0; i < page.length; i++) {
    hash ^= page.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % count;
}

/** Whether the manifest has a file at `path`. */
export function hasAsset(manifest: AssetManifest, path: string): boolean {
  return Object.hasOwn(manifest.files, path);
}

/**
 * Checks that a value is shaped like a manifest this runtime can read, so one loaded at runtime
 * (from KV, a platform's upload) fails loudly instead of crashing requests later.
 * Returns a description of the first problem, or `undefined` when it is valid.
 */
export function validateManifest(value: unknown): string | undefined {
  const problem = validateTables(value);
  if (problem) return problem;
  const m = value as Partial<AssetManifest>;
  if (m.shards !== undefined && !isHashList(m.shards)) return "shards is not a list of hashes";
  if (typeof m.files !== "object" || m.files === null) return "files is not an object";
  return validateFiles(m.files, m.types as string[], m.times as number[]);
}

/** Like {@link validateManifest}, for the published form of a large manifest. */
export function validateManifestIndex(value: unknown): string | undefined {
  const problem = validateTables(value);
  if (problem) return problem;
  const m = value as Partial<ManifestIndex> & { files?: unknown };
  if (m.files !== undefined) return "a manifest index has no files";
  if (!isHashList(m.shards) || m.shards.length === 0) return "shards is not a list of hashes";
  return undefined;
}

/**
 * Like {@link validateManifest}, for a published `manifest` record, which is a whole manifest or,
 * for a large site, the index of a sharded one. `sharded` says which it is.
 */
export function validateManifestRecord(value: unknown): { problem?: string; sharded: boolean } {
  const sharded =
    typeof value === "object" && value !== null && "shards" in value && !("files" in value);
  return { problem: sharded ? validateManifestIndex(value) : validateManifest(value), sharded };
}

/** Checks the files of one shard against the tables of its index. */
export function validateShard(value: unknown, index: ManifestIndex): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return "shard is not an object";
  return validateFiles(value as Record<string, unknown>, index.types, index.times);
}

function validateTables(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "not an object";
  const m = value as Partial<AssetManifest>;
  if (m.v !== MANIFEST_VERSION)
    return `unsupported version ${String(m.v)} (expected ${MANIFEST_VERSION})`;
  if (typeof m.prefix !== "string") return "prefix is not a string";
  if (typeof m.chunk !== "number" || !(m.chunk > 0)) return "chunk is not a positive number";
  if (!Array.isArray(m.types) || !m.types.every((t) => typeof t === "string"))
    return "types is not a list of strings";
  if (!Array.isArray(m.times) || !m.times.every((t) => Number.isFinite(t)))
    return "times is not a list of numbers";
  if (m.links !== undefined && !isPageLinks(m.links)) return "links is not a table of Link values";
  return validateRules(m) ?? validateRetained(m.retained, m.types, m.times);
}

function validateRules(m: Partial<AssetManifest>): string | undefined {
  if (m.headers !== undefined) {
    if (!Array.isArray(m.headers)) return "headers is not a list of rules";
    for (const rule of m.headers as unknown[]) {
      const r = rule as Partial<HeaderRule>;
      if (typeof rule !== "object" || rule === null || !isPattern(r.path))
        return "a header rule has no valid path";
      if (r.set !== undefined && !isStringRecord(r.set))
        return `the header rule for ${r.path} sets something that is not a header`;
      if (r.unset !== undefined && !(Array.isArray(r.unset) && r.unset.every(isString)))
        return `the header rule for ${r.path} removes something that is not a header`;
    }
  }
  if (m.redirects !== undefined) {
    if (!Array.isArray(m.redirects)) return "redirects is not a list of rules";
    for (const rule of m.redirects as unknown[]) {
      const r = rule as Partial<RedirectRule>;
      if (typeof rule !== "object" || rule === null || !isPattern(r.from))
        return "a redirect rule has no valid from";
      if (typeof r.to !== "string" || !/^(\/|https:\/\/)/.test(r.to))
        return `the redirect rule for ${r.from} has no valid target`;
      if (!isRedirectStatus(r.status)) return `the redirect rule for ${r.from} has no valid status`;
    }
  }
  return undefined;
}

function validateRetained(retained: unknown, types: string[], times: number[]): string | undefined {
  if (retained === undefined) return undefined;
  if (!Array.isArray(retained)) return "retained is not a list";
  for (const group of retained as unknown[]) {
    const g = group as Partial<RetainedFiles>;
    if (typeof group !== "object" || group === null || !Number.isFinite(g.until))
      return "a retained group has no until time";
    if (typeof g.files !== "object" || g.files === null) return "a retained group has no files";
    const problem = validateFiles(g.files, types, times);
    if (problem) return `retained ${problem}`;
  }
  return undefined;
}

function isPattern(value: unknown): value is string {
  if (typeof value !== "string" || !/^(\/|https:\/\/)/.test(value)) return false;
  try {
    compilePattern(value);
    return true;
  } catch {
    return false;
  }
}

function isPageLinks(value: unknown): value is PageLinks {
  if (typeof value !== "object" || value === null) return false;
  const { values, pages } = value as Partial<PageLinks>;
  return (
    Array.isArray(values) &&
    values.every(isString) &&
    typeof pages === "object" &&
    pages !== null &&
    Object.values(pages).every((index) => isIndex(index, values.length))
  );
}

function isString(value: unknown): value is string {
  return typeof value === "string";
}

function isStringRecord(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every(isString)
  );
}

function validateFiles(
  files: Record<string, unknown>,
  types: string[],
  times: number[],
): string | undefined {
  for (const [path, entry] of Object.entries(files)) {
    if (!path.startsWith("/")) return `path ${JSON.stringify(path)} does not start with "/"`;
    if (!isEntry(entry, types.length, times.length))
      return `entry for ${JSON.stringify(path)} is malformed`;
  }
  return undefined;
}

function isHashList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((h) => typeof h === "string" && HASH.test(h));
}

const HASH = /^[0-9a-f]{1,64}$/;

function isEntry(entry: unknown, types: number, times: number): boolean {
  if (!Array.isArray(entry) || entry.length < 5 || entry.length > 7) return false;
  const [hash, size, type, time, flags, variants, more] = entry as unknown[];
  if (typeof hash !== "string" || !HASH.test(hash)) return false;
  if (!isIndex(size, Number.MAX_SAFE_INTEGER + 1) || !isIndex(type, types) || !isIndex(time, times))
    return false;
  if (!isIndex(flags, 256)) return false;
  if (variants === undefined) return true;
  if (!Array.isArray(variants) || !variants.every(isVariant)) return false;
  return more === undefined || isMore(more, types);
}

function isVariant(v: unknown): boolean {
  return (
    Array.isArray(v) &&
    (v.length === 3 || (v.length === 4 && isDigest(v[3]))) &&
    CONTENT_ENCODINGS.includes(v[0] as ContentEncoding) &&
    typeof v[1] === "string" &&
    HASH.test(v[1]) &&
    isIndex(v[2], Number.MAX_SAFE_INTEGER + 1)
  );
}

function isMore(value: unknown, types: number): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const { digest, alternates } = value as EntryMore;
  if (digest !== undefined && !isDigest(digest)) return false;
  return (
    alternates === undefined ||
    (Array.isArray(alternates) &&
      alternates.every(
        (a) =>
          Array.isArray(a) &&
          a.length === 2 &&
          typeof a[0] === "string" &&
          EXTENSION.test(a[0]) &&
          isIndex(a[1], types),
      ))
  );
}

/** A sha-256 in base64: 32 bytes, so 43 characters and one `=`. */
function isDigest(value: unknown): value is string {
  return typeof value === "string" && /^[A-Za-z0-9+/]{43}=$/.test(value);
}

/** An alternate's extension: what the sync records, and what packs without escaping. */
const EXTENSION = /^[a-z0-9]{1,16}$/;

function isIndex(value: unknown, bound: number): boolean {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) < bound;
}
