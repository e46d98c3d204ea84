// What a sync publishes: files of a folder, or files given in memory, read when needed.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { decodePath } from "@kv-assets/runtime";
import { describeError, fail } from "./errors.js";
import type { ScannedFile, SkippedFile } from "./scan.js";

/** Files up to this size are read synchronously when hashed. */
export const SYNC_READ_LIMIT = 256 * 1024;

/** A file to publish. */
export interface Source {
  path: string;
  /** Size when known before reading (files on disk). */
  size?: number;
  read(): Promise<Uint8Array>;
  /** Reads a small file at once; thousands of them go several times faster than with `read`. */
  readSync?(): Uint8Array;
}

/** Files given in memory, URL path to bytes. */
export function fromMemory(files: Record<string, Uint8Array | string>): {
  files: Source[];
  skipped: SkippedFile[];
} {
  const sources: Source[] = [];
  for (const [path, body] of Object.entries(files)) {
    if (decodePath(path) !== path || path.endsWith("/")) {
      fail(`file path ${JSON.stringify(path)} is not a clean absolute path like "/index.html"`);
    }
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
    sources.push({ path, read: async () => bytes });
  }
  return { files: sources, skipped: [] };
}

/** Files of a scanned folder. */
export function fromFolder(scan: { files: ScannedFile[]; skipped: SkippedFile[] }): {
  files: Source[];
  skipped: SkippedFile[];
} {
  const cannotRead = (file: ScannedFile, error: unknown): never =>
    fail(
      `cannot read ${file.file}: ${describeError(error)}; check its permissions or exclude it`,
      error,
    );
  const files = scan.files.map((file): Source => ({
    path: file.path,
    size: file.size,
    // Read when processed, so memory holds a bounded number of files at once.
    read: () => readFile(file.file).catch((error: unknown) => cannotRead(file, error)),
    readSync: () => {
      try {
        return readFileSync(file.file);
      } catch (error) {
        return cannotRead(file, error);
      }
    },
  }));
  return { files, skipped: scan.skipped };
}
