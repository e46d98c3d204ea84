// The compact form the Vite plugin compiles a manifest into: one sorted string, searched in place.

import { misconfigured } from "./log.js";
import type {
  AssetManifest,
  ContentEncoding,
  EntryMore,
  ManifestEntry,
  ManifestVariant,
} from "./manifest.js";

/**
 * A manifest as it is compiled into a Worker: the tables, and every file in one string sorted by
 * path, which lookups binary-search in place. A cold isolate parses nothing, and a file costs
 * about 25 bytes beside its path (50 with two precompressed variants), against about 85 as JSON.
 *
 * `packed` holds one record per file, joined by `|`, in ascending UTF-16 order of their paths:
 * `path:hash,size,type,time,flags`, then `,` + `b`, `z` or `g` (br, zstd, gzip) + hash `,` size
 * per variant, then `,.` + extension `~` type per alternate. A hash with a digest is followed by
 * `~` and the digest's base64. In the path, `%`, `:` and `|` are written `%25`, `%3A` and `%7C`.
 * Numbers are base 36. A hash of 16 hex digits (what the sync engine writes) is its 8 bytes in 11
 * base64url characters; any other hash is `=` followed by its hex.
 */
export interface PackedManifest extends Omit<AssetManifest, "files" | "shards"> {
  /** Number of files. */
  count: number;
  /** The files, as described above. */
  packed: string;
}

/** The packed form of `manifest`, as {@link PackedManifest} describes it. */
export function packManifest(manifest: AssetManifest): PackedManifest {
  const records = Object.entries(manifest.files).map(([path, entry]) => {
    const [hash, size, type, time, flags, variants, more] = entry;
    const fields = [withDigest(hash, more?.digest), b36(size), b36(type), b36(time), b36(flags)];
    for (const [encoding, vhash, vsize, digest] of variants ?? []) {
      fields.push(ENCODING_LETTER[encoding] + withDigest(vhash, digest), b36(vsize));
    }
    for (const [extension, alternateType] of more?.alternates ?? []) {
      fields.push(`.${extension}~${b36(alternateType)}`);
    }
    return { path: escapePath(path), text: fields.join(",") };
  });
  records.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const { files: _files, shards: _shards, ...tables } = manifest;
  return {
    ...tables,
    count: records.length,
    packed: records.map((r) => `${r.path}:${r.text}`).join("|"),
  };
}

/**
 * A packed manifest as one text: its tables as JSON on the first line, then `packed`. The Vite
 * plugin compiles this in as a Text module, which workerd loads as a string without parsing it as
 * JavaScript; {@link readManifestText} reads it back.
 */
export function manifestText(manifest: PackedManifest): string {
  const { packed, ...tables } = manifest;
  return `${JSON.stringify(tables)}\n${packed}`;
}

/** The packed manifest of a {@link manifestText}. Only its first line is parsed. */
export function readManifestText(text: string): PackedManifest {
  const newline = text.indexOf("\n");
  if (newline === -1) {
    misconfigured("the compiled manifest is not a manifest text; run vite build again");
  }
  const tables = JSON.parse(text.slice(0, newline)) as Omit<PackedManifest, "packed">;
  return { ...tables, packed: text.slice(newline + 1) };
}

/** The entry of `path` in a packed manifest, or `undefined` when it has none. */
export function findPacked(packed: string, path: string): ManifestEntry | undefined {
  const key = escapePath(path);
  let low = 0;
  let high = packed.length;
  // `low` and `high` always sit on record boundaries; each turn looks at the record around the
  // middle and drops the half that cannot hold `key`.
  while (low < high) {
    const middle = (low + high) >>> 1;
    const start = middle === 0 ? 0 : packed.lastIndexOf("|", middle - 1) + 1;
    const colon = packed.indexOf(":", start);
    const order = compareAt(packed, start, colon, key);
    if (order < 0) {
      high = start;
      continue;
    }
    const bar = packed.indexOf("|", colon);
    const end = bar === -1 ? packed.length : bar;
    if (order === 0) return unpackEntry(packed.slice(colon + 1, end));
    low = end + 1;
  }
  return undefined;
}

/** The manifest a packed one was made from, with every file in `files`. */
export function unpackManifest(manifest: PackedManifest): AssetManifest {
  const { count: _count, packed, ...tables } = manifest;
  const files: Record<string, ManifestEntry> = {};
  if (packed !== "") {
    for (const record of packed.split("|")) {
      const colon = record.indexOf(":");
      files[unescapePath(record.slice(0, colon))] = unpackEntry(record.slice(colon + 1));
    }
  }
  return { ...tables, files };
}

const ENCODING_LETTER: Record<ContentEncoding, string> = { br: "b", zstd: "z", gzip: "g" };
const LETTER_ENCODING: Record<string, ContentEncoding> = { b: "br", z: "zstd", g: "gzip" };
const SHORT_HASH = /^[0-9a-f]{16}$/;

function unpackEntry(text: string): ManifestEntry {
  const fields = text.split(",");
  const [hash, digest] = splitDigest(fields[0] as string);
  const head = [
    hash,
    parseInt(fields[1] as string, 36),
    parseInt(fields[2] as string, 36),
    parseInt(fields[3] as string, 36),
    parseInt(fields[4] as string, 36),
  ] as const;
  if (fields.length === 5 && digest === undefined) return [...head];
  const variants: ManifestVariant[] = [];
  const more: EntryMore = digest === undefined ? {} : { digest };
  // Variants come in pairs (hash, size); alternates, after them, start with `.`.
  for (let i = 5; i < fields.length; i++) {
    const field = fields[i] as string;
    if (field.startsWith(".")) {
      const tilde = field.indexOf("~");
      (more.alternates ??= []).push([field.slice(1, tilde), parseInt(field.slice(tilde + 1), 36)]);
      continue;
    }
    const encoding = LETTER_ENCODING[field[0] as string];
    const size = parseInt(fields[++i] as string, 36);
    if (encoding === undefined) continue;
    const [vhash, vdigest] = splitDigest(field.slice(1));
    variants.push(
      vdigest === undefined ? [encoding, vhash, size] : [encoding, vhash, size, vdigest],
    );
  }
  return more.digest === undefined && more.alternates === undefined
    ? [...head, variants]
    : [...head, variants, more];
}

function withDigest(hash: string, digest: string | undefined): string {
  return digest === undefined ? packHash(hash) : `${packHash(hash)}~${digest}`;
}

function splitDigest(field: string): [hash: string, digest: string | undefined] {
  const tilde = field.indexOf("~");
  return tilde === -1
    ? [unpackHash(field), undefined]
    : [unpackHash(field.slice(0, tilde)), field.slice(tilde + 1)];
}

// How `key` sorts against the path `packed` holds from `start` to `end`, in UTF-16 order (as `<`
// does), without copying that path out.
function compareAt(packed: string, start: number, end: number, key: string): number {
  const length = end - start;
  const shorter = Math.min(length, key.length);
  for (let i = 0; i < shorter; i++) {
    const difference = key.charCodeAt(i) - packed.charCodeAt(start + i);
    if (difference !== 0) return difference;
  }
  return key.length - length;
}

function escapePath(path: string): string {
  return /[%:|]/.test(path)
    ? path.replace(/[%:|]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    : path;
}

function unescapePath(text: string): string {
  return text.replace(/%(25|3A|7C)/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function b36(value: number): string {
  return value.toString(36);
}

function packHash(hash: string): string {
  if (!SHORT_HASH.test(hash)) return `=${hash}`;
  let binary = "";
  for (let i = 0; i < 16; i += 2) binary += String.fromCharCode(parseInt(hash.slice(i, i + 2), 16));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function unpackHash(text: string): string {
  if (text.startsWith("=")) return text.slice(1);
  const binary = atob(`${text.replace(/-/g, "+").replace(/_/g, "/")}=`);
  let hex = "";
  for (let i = 0; i < binary.length; i++) hex += binary.charCodeAt(i).toString(16).padStart(2, "0");
  return hex;
}
