// Where bodies come from: the storage interface, and reading a body (or a byte range of it) by parts.

import { logProblem } from "./log.js";
import { partKeys } from "./keys.js";
import type { ByteRange } from "./range.js";

/**
 * The calls the runtime makes to storage: a stream read, and optionally a ranged one. A
 * `KVNamespace` satisfies it as it is; anything else (R2 through `r2Storage`, a Map in tests, an
 * origin) plugs in with a few lines.
 */
export interface AssetStorage {
  /** Reads the value at `key` as a stream, or `null` when there is none. */
  get(key: string, options: { type: "stream"; cacheTtl?: number }): Promise<ReadableStream | null>;
  /**
   * Reads `range` of the value at `key`, for storage that can (R2, the edge cache): of the whole
   * value, or of one stored part of it.
   */
  getRange?(key: string, range: ByteRange): Promise<ReadableStream | null>;
}

/** A body that could be opened (a stream, or bytes held in memory), or the key storage did not have. */
export type OpenedBody =
  { body: ReadableStream | Uint8Array; length: number } | { missing: string };

/**
 * Opens the body stored under `key` (`size` bytes, in parts of `chunk` bytes when larger), or only
 * `range` of it. Every part the response needs is looked up before the response starts, so a
 * missing key is known while the status can still say so; only the parts `range` touches are read,
 * and a range of one part is read only up to its end.
 */
export async function openBody(
  storage: AssetStorage,
  key: string,
  size: number,
  chunk: number,
  range: ByteRange | null,
  cacheTtl: number,
): Promise<OpenedBody> {
  const keys = partKeys(key, size, chunk);
  const options = { type: "stream", cacheTtl } as const;
  // Streams from KV, R2 and the Cache API carry their length: the response gets Content-Length
  // from the stored value itself, with no copy and no pipe (a pipe through a FixedLengthStream is
  // much slower: see "1 MiB file 200" in bench/RESULTS.md). A storage that returns a JavaScript stream
  // gets a chunked response.
  if (range !== null && keys.length === 1 && storage.getRange) {
    const stream = await storage.getRange(key, range);
    return stream ? { body: stream, length: range.end - range.start + 1 } : { missing: key };
  }
  if (keys.length === 1 && range === null) {
    const stream = await storage.get(key, options);
    return stream ? { body: stream, length: size } : { missing: key };
  }

  const partSize = keys.length === 1 ? Math.max(size, 1) : chunk;
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  const first = Math.floor(start / partSize);
  const last = Math.max(first, Math.floor(end / partSize));
  const needed = keys.slice(first, last + 1);
  // Storage that reads ranges (the edge cache) is asked for just the bytes of the first part the
  // range covers, so a range deep in a large part does not read the part's bytes before it. The
  // parts after it are read from their start, as streams: an open range (`bytes=N-`) of a large
  // file covers many parts, and only a stream keeps memory flat.
  const ranged = range !== null && storage.getRange !== undefined;
  const firstStart = first * partSize;
  const streams = await Promise.all(
    needed.map((k, i) =>
      ranged && i === 0
        ? storage.getRange!(k, {
            start: start - firstStart,
            end: Math.min(end, firstStart + partSize - 1) - firstStart,
          })
        : storage.get(k, options),
    ),
  );
  const absent = streams.findIndex((s) => s === null);
  if (absent !== -1) {
    await Promise.all(streams.map((s) => s?.cancel().catch(() => {})));
    return { missing: needed[absent] as string };
  }
  const length = Math.max(0, end - start + 1);
  const skip = ranged ? 0 : start - firstStart;
  return { body: slice(streams as ReadableStream[], skip, length), length };
}

/** Gives a stream a known length, so the response carries Content-Length rather than chunking. */
export function withLength(stream: ReadableStream, length: number): ReadableStream {
  if (typeof FixedLengthStream !== "function") return stream;
  const fixed = new FixedLengthStream(length);
  stream.pipeTo(fixed.writable).catch(() => {});
  return fixed.readable;
}

/** Concatenates `parts`, skipping `skip` bytes and ending after `length` bytes. */
export function slice(parts: ReadableStream[], skip: number, length: number): ReadableStream {
  const { readable, writable } =
    typeof FixedLengthStream === "function"
      ? new FixedLengthStream(length)
      : new TransformStream<Uint8Array, Uint8Array>();
  void pump();
  return readable;

  async function pump(): Promise<void> {
    const writer = writable.getWriter();
    let remaining = length;
    let toSkip = skip;
    try {
      for (const part of parts) {
        const reader = part.getReader();
        while (remaining > 0) {
          const { done, value } = await reader.read();
          if (done) break;
          let bytes = value instanceof Uint8Array ? value : new Uint8Array(value as ArrayBuffer);
          if (toSkip > 0) {
            if (bytes.byteLength <= toSkip) {
              toSkip -= bytes.byteLength;
              continue;
            }
            bytes = bytes.subarray(toSkip);
            toSkip = 0;
          }
          if (bytes.byteLength > remaining) bytes = bytes.subarray(0, remaining);
          remaining -= bytes.byteLength;
          // A write fails only when the client has gone away, which is normal: stop quietly.
          if (
            !(await writer.write(bytes).then(
              () => true,
              () => false,
            ))
          ) {
            await Promise.all(parts.map((p) => p.cancel().catch(() => {})));
            return;
          }
        }
        await reader.cancel().catch(() => {});
      }
      if (remaining > 0) throw new Error(`stored body ended ${remaining} bytes short`);
      await writer.close().catch(() => {});
    } catch (error) {
      logProblem(`reading a stored body failed: ${String(error)}`);
      await writer.abort(error).catch(() => {});
      await Promise.all(parts.map((p) => p.cancel().catch(() => {})));
    }
  }
}
