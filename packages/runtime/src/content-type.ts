// Content types decided at build time, so the runtime needs no MIME table.
import { lookup } from "mrmime";

/** Content-Type for a file name: mrmime's type, `application/octet-stream` when unknown, charset on text. */
export function contentTypeOf(path: string): string {
  // mrmime looks extensions up in a plain object: `x.constructor` finds Object's own function.
  const found: unknown = lookup(path);
  const type =
    (typeof found === "string" ? found : undefined) ??
    EXTRA.get(path.slice(path.lastIndexOf(".") + 1).toLowerCase()) ??
    "application/octet-stream";
  return isText(type) ? `${type}; charset=utf-8` : type;
}

/** Whether a type (without parameters) is worth precompressing: text, and binary formats that are not already compressed. */
export function isCompressible(contentType: string): boolean {
  const type = contentType.split(";")[0]!.trim();
  return isText(type) || COMPRESSIBLE.has(type);
}

/** Smallest file worth precompressing, by default: below it a variant saves too few bytes. */
export const PRECOMPRESS_MIN_SIZE = 1024;

/**
 * Whether a compressed body of `size` bytes is worth keeping beside the `original` one: it must
 * save at least 5% to be worth a key, a header and a Vary.
 */
export function worthKeeping(size: number, original: number): boolean {
  return size < original * 0.95;
}

function isText(type: string): boolean {
  return (
    type.startsWith("text/") || TEXT.has(type) || type.endsWith("+json") || type.endsWith("+xml")
  );
}

// Web files mrmime has no type for; browsers rely on these (a favicon, HLS playlists, subtitles).
const EXTRA = new Map([
  ["ico", "image/x-icon"],
  ["m3u8", "application/vnd.apple.mpegurl"],
  ["srt", "application/x-subrip"],
]);

const TEXT = new Set([
  "application/javascript",
  "application/json",
  "application/xml",
  "application/ld+json",
  "application/manifest+json",
  "application/x-javascript",
  "image/svg+xml",
]);

const COMPRESSIBLE = new Set([
  "application/wasm",
  "application/x-font-ttf",
  "font/ttf",
  "font/otf",
  "image/x-icon",
  "image/vnd.microsoft.icon",
  "image/bmp",
]);
