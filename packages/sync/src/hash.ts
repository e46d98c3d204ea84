// Content hashes: xxh64 of the raw bytes, as 16 lower-case hex digits.
import xxhash from "xxhash-wasm";

let hasher: Promise<(bytes: Uint8Array) => bigint> | undefined;

/** Returns the xxh64 (seed 0) of `bytes` as 16 hex digits. */
export async function hashBytes(bytes: Uint8Array): Promise<string> {
  hasher ??= xxhash().then((api) => (input: Uint8Array) => api.h64Raw(input));
  const h64 = await hasher;
  return h64(bytes).toString(16).padStart(16, "0");
}
