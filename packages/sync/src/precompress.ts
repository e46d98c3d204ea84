// Precompressed variants: br and gzip bodies made at build time, kept only when they are smaller.
import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";
import type { ContentEncoding } from "@kv-assets/runtime";

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);

/** A compressed body of a file. */
export interface CompressedVariant {
  encoding: ContentEncoding;
  bytes: Uint8Array;
}

/** Compresses `bytes` with br (best quality) and gzip (level 9); returns those smaller than the original, br first. */
export async function precompress(bytes: Uint8Array): Promise<CompressedVariant[]> {
  const [br, gzipped] = await Promise.all([
    brotli(bytes, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
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
