// What a sync publishes: files of a folder, or files given in memory, read when needed.
import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { decodePath } from "@kv-assets/runtime";
import { describeError, fail } from "./errors.js";
import { fileRules, type ScannedFile, type ScanOptions, type SkippedFile } from "./scan.js";

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

/**
 * Files given in memory, URL path to bytes. The rules of a folder's scan apply to them too:
 * secrets, the platform's files, dotfiles, source maps and `exclude` are left out.
 */
export function fromMemory(
  files: Record<string, Uint8Array | string>,
  options: ScanOptions = {},
): {
  files: Source[];
  skipped: SkippedFile[];
} {
  const rules = fileRules(options);
  const sources: Source[] = [];
  const skipped: SkippedFile[] = [];
  for (const [path, body] of Object.entries(files)) {
    if (decodePath(path) !== path || path.endsWith("/")) {
      fail(`file path ${JSON.stringify(path)} is not a clean absolute path like "/index.html"`);
    }
    const reason = rules.classify(path.slice(1));
    if (reason) {
      skipped.push({ path, reason });
      continue;
    }
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
    sources.push({ path, read: async () => bytes });
  }
  return { files: sources, skipped };
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
    read: () => readRegular(file).catch((error: unknown) => cannotRead(file, error)),
    readSync: () => {
      try {
        return readRegularSync(file);
      } catch (error) {
        return cannotRead(file, error);
      }
    },
  }));
  return { files, skipped: scan.skipped };
}

// The scan saw a regular file; if something else (a link, a pipe) has taken its place since, it is
// refused rather than followed or waited on.
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

async function readRegular(file: ScannedFile): Promise<Uint8Array> {
  const handle = await open(file.file, READ_FLAGS);
  try {
    if (!(await handle.stat()).isFile()) throw new Error("it is no longer a regular file");
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

function readRegularSync(file: ScannedFile): Uint8Array {
  const fd = openSync(file.file, READ_FLAGS);
  try {
    if (!fstatSync(fd).isFile()) throw new Error("it is no longer a regular file");
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
