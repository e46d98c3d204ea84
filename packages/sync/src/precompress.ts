// Precompressed variants: br, zstd and gzip bodies made at build time, kept only when smaller.
import { promisify } from "node:util";
import * as zlib from "node:zlib";
import type { ContentEncoding } from "@kv-assets/runtime";
import { worthKeeping } from "@kv-assets/runtime/publish";

const brotli = promisify(zlib.brotliCompress);
const gz = promisify(zlib.gzip);

/**
 * Brotli quality of the variants: the best, since a deploy compresses only content storage does
 * not have yet and every visitor gets the bytes saved. "brotli quality" in bench/RESULTS.md has
 * the size against time of each quality, for builds that would rather be faster.
 */
export const DEFAULT_BROTLI_QUALITY = 11;

/** zstd level of the variants: near the smallest, still several times faster than br at 11. */
export const ZSTD_LEVEL = 19;

/** A compressed body of a file. */
export interface CompressedVariant {
  encoding: ContentEncoding;
  bytes: Uint8Array;
}

/** How to precompress: the encodings, in the order variants are listed, and br's quality. */
export interface PrecompressSettings {
  encodings: readonly ContentEncoding[];
  brotliQuality?: number;
}

/**
 * Compresses `bytes` to each of `encodings` and returns those that save at least 5%, in the
 * order asked. br and gzip run on libuv's thread pool, so files compressed at once use every core.
 */
export async function precompress(
  bytes: Uint8Array,
  { encodings, brotliQuality = DEFAULT_BROTLI_QUALITY }: PrecompressSettings,
): Promise<CompressedVariant[]> {
  const made = await Promise.all(
    encodings.map(async (encoding): Promise<CompressedVariant> => {
      const compressed =
        encoding === "br"
          ? await brotli(bytes, {
              params: {
                [zlib.constants.BROTLI_PARAM_QUALITY]: brotliQuality,
                [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.byteLength,
              },
            })
          : encoding === "gzip"
            ? await gz(bytes, { level: 9 })
            : await zstd(bytes);
      return { encoding, bytes: compressed };
    }),
  );
  return made.filter((variant) => worthKeeping(variant.bytes.byteLength, bytes.byteLength));
}

/** zstd at {@link ZSTD_LEVEL}: Node's own where it has it (22.15 and later), else a wasm build. */
export async function zstd(bytes: Uint8Array): Promise<Uint8Array> {
  const native = (zlib as { zstdCompress?: unknown }).zstdCompress;
  if (typeof native === "function") {
    const compress = promisify(native as typeof zlib.gzip);
    const level = (zlib.constants as unknown as Record<string, number>).ZSTD_c_compressionLevel;
    return compress(bytes, { params: { [level as number]: ZSTD_LEVEL } } as zlib.ZlibOptions);
  }
  const encoder = await (wasmZstd ??= import("@hpcc-js/wasm-zstd").then((m) => m.Zstd.load()));
  return encoder.compress(bytes, ZSTD_LEVEL);
}

let wasmZstd: Promise<{ compress(data: Uint8Array, level?: number): Uint8Array }> | undefined;
