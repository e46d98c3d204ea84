// `kv-assets push`: publish a folder through a platform Worker's upload API (createUploadHandler),
// for platforms whose storage only their Worker can write. List, upload what is missing, publish.
import {
  contentTypeOf,
  encodeBodies,
  hashBytes,
  isCompressible,
  MAX_BATCH_BODIES,
  PRECOMPRESS_MIN_SIZE,
  type UploadFile,
} from "@kv-assets/runtime/publish";
import type { ContentEncoding } from "@kv-assets/runtime";
import { changedWhileSyncing, fail } from "./errors.js";
import type { SyncLogger } from "./options.js";
import { DEFAULT_BROTLI_QUALITY, precompress } from "./precompress.js";
import { hashSources, type Hashed } from "./hashing.js";
import { eachLimited } from "./limit.js";
import { describeSkipped, scanDirectory, type ScanOptions } from "./scan.js";
import { fromFolder, fromMemory, WHOLE_READ_LIMIT, type Source } from "./sources.js";

/** Options of {@link pushAssets}. */
export interface PushOptions extends ScanOptions {
  /** Folder to publish; or `files`. */
  dir?: string;
  /** Files to publish, URL path to body; or `dir`. */
  files?: Record<string, Uint8Array | string>;
  /** URL of the upload API: the `basePath` its Worker serves `createUploadHandler` under. */
  url: string;
  /** The project to publish, as the Worker's `authorize` is asked about it. */
  project: string;
  /** Headers every request carries, such as `Authorization`. @default {} */
  headers?: Record<string, string>;
  /**
   * Precompressed variants to make and upload, as the sync's `precompress`.
   * @default true (br and gzip)
   */
  precompress?: boolean;
  /** Brotli quality of the br variants, 0 to 11. @default 11 */
  brotliQuality?: number;
  /** Bytes of bodies per upload request. @default 16777216 (16 MiB) */
  batchBytes?: number;
  /** Where summary and warnings go. @default console */
  logger?: SyncLogger;
  /** Stops the push between requests; nothing is published once it fires before the last. */
  signal?: AbortSignal;
  /** The fetch the requests go through. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** What a push did. */
export interface PushResult {
  files: number;
  /** Bodies the Worker lacked and was sent, and their bytes. */
  uploaded: number;
  uploadedBytes: number;
  /** Upload requests made. */
  batches: number;
  /** The published deploy's time (ms), as `kv-assets deploys` lists it. */
  created: number;
}

/**
 * Publishes a folder (or files in memory) through a platform Worker's upload API. Only bodies its
 * storage lacks are sent, so running it again after an interruption sends only what is left.
 * Files over 25 MiB are refused (publish those with `kv-assets sync --project`).
 */
export async function pushAssets(options: PushOptions): Promise<PushResult> {
  const logger = options.logger ?? console;
  const call = apiCaller(options);
  const sources =
    options.files !== undefined
      ? fromMemory(options.files, options)
      : fromFolder(await scanDirectory(folderOf(options.dir), options));
  for (const line of describeSkipped(sources.skipped)) logger.warn(`[kv-assets] ${line}`);
  const listed = await listFiles(sources.files, options);

  const opened = (await call("POST", "sessions", JSON.stringify({ files: listed.files }))) as {
    session: string;
    missing: string[];
  };
  const missing = new Set(opened.missing);
  let batch: { hash: string; bytes: Uint8Array }[] = [];
  let batchBytes = 0;
  let uploaded = 0;
  let uploadedBytes = 0;
  let batches = 0;
  const send = async (): Promise<void> => {
    if (batch.length === 0) return;
    await call("PUT", `sessions/${opened.session}/bodies`, encodeBodies(batch));
    uploaded += batch.length;
    uploadedBytes += batchBytes;
    batches += 1;
    batch = [];
    batchBytes = 0;
  };
  const limit = options.batchBytes ?? 16 * 1024 * 1024;
  for (const { hash, bytes } of bodiesOf(listed, missing)) {
    const body = { hash, bytes: await bytes() };
    if (
      batch.length >= MAX_BATCH_BODIES ||
      (batch.length > 0 && batchBytes + body.bytes.byteLength > limit)
    ) {
      await send();
    }
    batch.push(body);
    batchBytes += body.bytes.byteLength;
  }
  await send();
  const published = (await call("POST", `sessions/${opened.session}/publish`)) as {
    created: number;
  };
  logger.info(
    `[kv-assets] pushed ${listed.files.length} files of project ${options.project} to ${options.url}: ${uploaded} bodies sent (${uploadedBytes} bytes in ${batches} requests), the rest already there`,
  );
  return {
    files: listed.files.length,
    uploaded,
    uploadedBytes,
    batches,
    created: published.created,
  };
}

interface Listed {
  files: UploadFile[];
  /** Reads a body again by hash: a file's from its source, a variant's from memory. */
  readers: Map<string, () => Promise<Uint8Array>>;
}

// Hashes every file as a sync does, makes the variants of compressible ones (kept: they are made
// once), and keeps the way to read each file again when its body must be sent.
async function listFiles(sources: Source[], options: PushOptions): Promise<Listed> {
  const encodings: ContentEncoding[] = options.precompress === false ? [] : ["br", "gzip"];
  const oversized = sources.find((source) => source.size > WHOLE_READ_LIMIT);
  if (oversized) {
    fail(
      `${oversized.path} is ${oversized.size} bytes; push sends files of up to 25 MiB, publish larger ones with kv-assets sync --project`,
    );
  }
  const hashed = await hashSources(
    sources,
    { chunk: WHOLE_READ_LIMIT, maxFileSize: WHOLE_READ_LIMIT },
    () => {},
  );
  const files: UploadFile[] = [];
  const readers = new Map<string, () => Promise<Uint8Array>>();
  await eachLimited(sources, 8, async (source) => {
    const { hash, size } = hashed.get(source) as Hashed;
    const read = async (): Promise<Uint8Array> => {
      const bytes = await source.read();
      if ((await hashBytes(bytes)) !== hash) changedWhileSyncing(source.path);
      return bytes;
    };
    readers.set(hash, read);
    const variants = [];
    if (
      encodings.length > 0 &&
      size >= PRECOMPRESS_MIN_SIZE &&
      isCompressible(contentTypeOf(source.path))
    ) {
      for (const variant of await precompress(await read(), {
        encodings,
        brotliQuality: options.brotliQuality ?? DEFAULT_BROTLI_QUALITY,
      })) {
        const vhash = await hashBytes(variant.bytes);
        readers.set(vhash, async () => variant.bytes);
        variants.push({ encoding: variant.encoding, hash: vhash, size: variant.bytes.byteLength });
      }
    }
    files.push({ path: source.path, hash, size, ...(variants.length ? { variants } : {}) });
  });
  return { files, readers };
}

function* bodiesOf(
  listed: Listed,
  missing: Set<string>,
): Generator<{ hash: string; bytes: () => Promise<Uint8Array> }> {
  const sent = new Set<string>();
  for (const hash of missing) {
    const read = listed.readers.get(hash);
    if (read === undefined || sent.has(hash)) continue;
    sent.add(hash);
    yield { hash, bytes: read };
  }
}

// One request to the API: JSON back, or one line naming what the Worker said.
function apiCaller(options: PushOptions) {
  const base = `${options.url.replace(/\/?$/, "/")}projects/${encodeURIComponent(options.project)}/`;
  const fetcher = options.fetch ?? fetch;
  return async (method: string, path: string, body?: string | Uint8Array): Promise<unknown> => {
    if (options.signal?.aborted) {
      fail(
        `interrupted by ${String(options.signal.reason)}; nothing was published, push again to resume`,
      );
    }
    let response: Response;
    try {
      response = await fetcher(base + path, {
        method,
        body,
        headers: options.headers ?? {},
        signal: options.signal,
      });
    } catch (error) {
      // Had the publish itself landed, the pushed deploy is live; pushing again is safe either way.
      const outcome = path.endsWith("/publish")
        ? "the deploy may or may not be live"
        : "nothing was published";
      fail(
        `could not reach ${options.url} (${String(error)}); ${outcome}, push again to resume`,
        error,
      );
    }
    const text = await response.text();
    let json: { error?: string } = {};
    try {
      json = JSON.parse(text) as { error?: string };
    } catch {
      // Not the upload API answering: say what came back.
    }
    if (!response.ok) {
      fail(
        `${options.url} answered ${response.status} to ${method} ${path.replace(/^sessions\/[0-9a-f]+/, "sessions/…")}: ${json.error ?? text.slice(0, 200)}; nothing was published`,
      );
    }
    return json;
  };
}

function folderOf(dir: string | undefined): string {
  if (dir === undefined) fail("pass either dir (a folder) or files (in memory) to push");
  return dir;
}
