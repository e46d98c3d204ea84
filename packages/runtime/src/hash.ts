// Content hashes: xxh64 of the raw bytes, as 16 lower-case hex digits.
import xxhash from "xxhash-wasm";

let api: ReturnType<typeof xxhash> | undefined;

/** Returns the xxh64 (seed 0) of `bytes` as 16 hex digits. */
export async function hashBytes(bytes: Uint8Array): Promise<string> {
  return hex((await (api ??= xxhash())).h64Raw(bytes));
}

/** A hash fed a piece at a time, for files too large to hold in memory. */
export interface Hasher {
  update(bytes: Uint8Array): void;
  /** The xxh64 of everything fed so far, as {@link hashBytes} gives it. */
  digest(): string;
}

/** Starts an xxh64 (seed 0) fed a piece at a time. */
export async function createHasher(): Promise<Hasher> {
  const state = (await (api ??= xxhash())).create64();
  return {
    update: (bytes) => void state.update(bytes),
    digest: () => hex(state.digest()),
  };
}

function hex(hash: bigint): string {
  return hash.toString(16).padStart(16, "0");
}
