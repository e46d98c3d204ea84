// Builds the manifest a publisher records: the sync engine and a Worker that publishes share it,
// so one set of files makes one manifest whoever publishes it.
import {
  FLAG_BUCKET,
  FLAG_IMMUTABLE,
  MANIFEST_VERSION,
  alternatePath,
  linkOf,
  shardOf,
  type AssetManifest,
  type ContentEncoding,
  type ManifestIndex,
  type EntryMore,
  type ManifestEntry,
  type ManifestVariant,
  type PageLinks,
} from "./manifest.js";
import { hashBytes } from "./hash.js";
import { escapeRegExp } from "./pattern.js";

/** A file as a publisher knows it once hashed: what {@link createManifest} records of it. */
export interface ManifestFile {
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
 * Turns hashed files into a manifest (the sync engine and Worker publishers share it), each under `basePath` (default `/`). Tables are filled in
 * first-seen order so output is stable.
 */
export function createManifest(
  files: ManifestFile[],
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
  const alternates = acceptVariants
    ? alternatesOf(sorted)
    : new Map<ManifestFile, ManifestFile[]>();
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
export function alternatesOf(files: readonly ManifestFile[]): Map<ManifestFile, ManifestFile[]> {
  const byPath = new Map(files.map((file) => [file.path, file]));
  const found = new Map<ManifestFile, ManifestFile[]>();
  for (const file of files) {
    const slash = file.path.lastIndexOf("/");
    const dot = file.path.lastIndexOf(".");
    if (dot <= slash + 1) continue;
    const extensions = ALTERNATES[file.path.slice(dot + 1).toLowerCase()] ?? [];
    const others = extensions
      .map((extension) => byPath.get(alternatePath(file.path, extension)))
      .filter((other): other is ManifestFile => other !== undefined)
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

/** What a publisher carries over for content an earlier deploy had. */
export type KnownFile = Pick<ManifestFile, "lastModified" | "variants" | "link" | "digest">;

/** Files of a manifest by content hash, to carry Last-Modified and variants into the next deploy. */
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
      // Known only when that deploy looked for links: then a page without any has `null`.
      ...(manifest.links ? { link: linkOf(manifest.links, hash) ?? null } : {}),
    });
  }
  return byHash;
}
