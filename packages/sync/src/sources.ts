// What a sync publishes: files of a folder, or files given in memory, read when needed.
import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { decodePath, KV_VALUE_LIMIT } from "@kv-assets/runtime/format";
import { describeError, fail } from "./errors.js";
import { fileRules, type ScannedFile, type ScanOptions, type SkippedFile } from "./scan.js";

/** Files up to this size are read synchronously when hashed. */
export const SYNC_READ_LIMIT = 256 * 1024;

/** A file to publish. */
export interface Source {
  path: string;
  /** Size in bytes, known before reading. */
  size: number;
  /** Reads the whole file; used only for files that fit in memory (see `WHOLE_READ_LIMIT`). */
  read(): Promise<Uint8Array>;
  /** Reads a small file at once; thousands of them go several times faster than with `read`. */
  readSync?(): Uint8Array;
  /** Reads up to `length` bytes from `offset`; fewer means the file is shorter than that now. */
  readAt(offset: number, length: number): Promise<Uint8Array>;
}

/** Files up to this size are read whole; larger ones a block or a stored part at a time. */
export const WHOLE_READ_LIMIT = KV_VALUE_LIMIT;

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
    sources.push({
      path,
      size: bytes.byteLength,
      read: async () => bytes,
      readAt: async (offset, length) => bytes.subarray(offset, offset + length),
    });
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
    readAt: (offset, length) =>
      readRegularAt(file, offset, length).catch((error: unknown) => cannotRead(file, error)),
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

async function readRegularAt(
  file: ScannedFile,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  const handle = await open(file.file, READ_FLAGS);
  try {
    if (!(await handle.stat()).isFile()) throw new Error("it is no longer a regular file");
    const buffer = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === length ? buffer : buffer.subarray(0, filled);
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
