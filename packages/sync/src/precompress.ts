// Precompressed variants: br and gzip bodies made at build time, kept only when they are smaller.
import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";
import type { ContentEncoding } from "@kv-assets/runtime";

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);

/**
 * Brotli quality of the variants: the best, since a deploy compresses only content storage does
 * not have yet and every visitor gets the bytes saved. "brotli quality" in bench/RESULTS.md has
 * the size against time of each quality, for builds that would rather be faster.
 */
export const DEFAULT_BROTLI_QUALITY = 11;

/** A compressed body of a file. */
export interface CompressedVariant {
  encoding: ContentEncoding;
  bytes: Uint8Array;
}

/**
 * Compresses `bytes` with br at `quality` and gzip (level 9); returns those smaller than the
 * original, br first. Both run on libuv's thread pool, so files compressed at once use every core.
 */
export async function precompress(
  bytes: Uint8Array,
  quality: number = DEFAULT_BROTLI_QUALITY,
): Promise<CompressedVariant[]> {
  const [br, gzipped] = await Promise.all([
    brotli(bytes, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: quality,
        [constants.BROTLI_PARAM_SIZE_HINT]: bytes.byteLength,
      },
    }),
    gz(bytes, { level: 9 }),
  ]);
  const variants: CompressedVariant[] = [];
  // A variant must save at least a little to be worth a key, a header and a Vary.
  if (br.byteLength < bytes.byteLength * 0.95) variants.push({ encoding: "br", bytes: br });
  if (gzipped.byteLength < bytes.byteLength * 0.95)
    variants.push({ encoding: "gzip", bytes: gzipped });
  return variants;
}
