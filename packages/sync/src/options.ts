// The options of a sync, what it returns, and the settings it runs with once defaults are resolved.
import { CONTENT_ENCODINGS, decodePath, KV_VALUE_LIMIT } from "@kv-assets/runtime/format";
import type { AssetManifest, ContentEncoding } from "@kv-assets/runtime";
import { fail, packageLogger } from "./errors.js";
import type { RemoteKvOptions } from "./kv-remote.js";
import { PRECOMPRESS_MIN_SIZE, viteFingerprint } from "@kv-assets/runtime/publish";
import { resolvePrefix } from "./manifest.js";
import type { ScanOptions, SkippedFile } from "./scan.js";
import { DEFAULT_BROTLI_QUALITY } from "./precompress.js";
import { DEFAULT_RETAIN, type RetainSettings } from "@kv-assets/runtime/format";
import type { KvTarget } from "./target.js";
import { validateSyncOptions } from "./validate-options.js";

/** Where log lines go; Vite's logger and `console` both fit. */
export interface SyncLogger {
  info(message: string): void;
  warn(message: string): void;
}

/** Options of {@link syncAssets}. */
export interface SyncOptions extends ScanOptions {
  /** Folder to publish (a build's output). Either this or `files`. */
  dir?: string;
  /** Files to publish from memory, URL path to bytes (for platforms that receive uploads). Either this or `dir`. */
  files?: Record<string, Uint8Array | string>;
  /**
   * Prefix of every key this sync writes, to share a namespace between sites.
   * @default ""
   */
  prefix?: string;
  /** Project id of a multi-tenant platform: keys go under `project/{id}/` (after `prefix`). */
  project?: string;
  /**
   * URL path the files are served under: with `"/app/"`, `index.html` is published as
   * `/app/index.html` and requests outside `/app/` match no file. The Vite plugin sets it from
   * Vite's `base`.
   * @default "/"
   */
  basePath?: string;
  /**
   * KV binding name in the wrangler configuration.
   * @default "ASSETS"
   */
  binding?: string;
  /** Path of the wrangler configuration. Found in `cwd` when not given. */
  config?: string;
  /** Wrangler environment whose bindings to use. */
  environment?: string;
  /**
   * Folder the wrangler config is looked up in and relative paths start from.
   * @default process.cwd()
   */
  cwd?: string;
  /**
   * Write to the real namespace through the Cloudflare API instead of local state.
   * @default process.env.KV_ASSETS_REMOTE === "1"
   */
  remote?: boolean;
  /** Options for remote sync; `apiToken` and `accountId` default to CLOUDFLARE_API_TOKEN / CLOUDFLARE_ACCOUNT_ID. */
  remoteOptions?: Partial<RemoteKvOptions>;
  /**
   * Folder of wrangler's local state.
   * @default "<config folder>/.wrangler/state/v3"
   */
  persistTo?: string;
  /** Storage to write to, instead of local or remote KV (tests, custom back ends). Not closed by the sync. */
  target?: KvTarget;
  /**
   * Make precompressed variants of compressible files (from `precompressMinSize` up to 25 MiB):
   * `true` for br and gzip, `false` for none, or the encodings to make, of `"br"`, `"zstd"` and
   * `"gzip"`. Each is kept only where it saves at least 5%.
   * @default true (br and gzip; see "zstd" in bench/RESULTS.md for why zstd is not among them)
   */
  precompress?: boolean | ContentEncoding[];
  /**
   * Record the sha-256 of every body (and of each precompressed variant), so responses carry
   * `Repr-Digest` (RFC 9530) and clients can check what they received. Costs about 60 bytes of
   * manifest a body (see "manifest bytes of each feature" in bench/RESULTS.md).
   * @default false
   */
  digests?: boolean;
  /**
   * Record the files beside a page or image with its content in another type, so a request's
   * Accept picks one: `photo.avif` and `photo.webp` beside `photo.jpg` (or `.jpeg`, `.png`,
   * `.gif`), `page.md` beside `page.html` (and `dir/index.md` beside `dir/index.html`).
   * @default true
   */
  acceptVariants?: boolean;
  /**
   * Read each HTML page's preloads, stylesheets and module scripts and send them as its `Link`
   * header, with its 200 and 304, so Cloudflare can answer 103 Early Hints. On in the Vite plugin.
   * @default false
   */
  earlyHints?: boolean;
  /**
   * Brotli quality of the br variants, 0 to 11: higher is smaller and slower.
   * @default 11 (see "brotli quality" in bench/RESULTS.md)
   */
  brotliQuality?: number;
  /**
   * Smallest file, in bytes, worth precompressing.
   * @default 1024
   */
  precompressMinSize?: number;
  /**
   * Which paths are fingerprinted (content hash in the name), served with a year of immutable caching.
   * @default Vite's `assets/name-HASH.ext`
   */
  immutable?: (path: string) => boolean;
  /**
   * Largest value per key; bigger bodies are stored in parts.
   * @default 26214400 (KV's 25 MiB limit)
   */
  partSize?: number;
  /**
   * Largest file accepted, in bytes.
   * @default 1073741824 (1 GiB)
   */
  maxFileSize?: number;
  /**
   * How many recent manifests count as still deployed: their keys are trusted to exist.
   * @default 3
   */
  keep?: number;
  /**
   * Put files of at least `minSize` bytes (default 1 MiB), with their variants, whole in the R2
   * bucket bound as `binding`, and the rest in KV. Serve them with `bucket: r2Storage(env.BUCKET)`.
   * Local state only: a remote sync with this option is refused.
   * @default undefined
   */
  r2?: { binding: string; minSize?: number };
  /**
   * Sites with more files than this also publish their manifest in shards of about this many
   * files, so a Worker that loads it from KV (`loadManifest`) reads only the shards it needs.
   * @default 1000
   */
  shardSize?: number;
  /**
   * Bytes of new content queued before they are written. With one 25 MiB value for each of the 8
   * files in flight, this bounds the sync's memory whatever the size of the site or its files.
   * @default 33554432 (32 MiB)
   */
  batchBytes?: number;
  /** Where summary and warnings go. @default console */
  logger?: SyncLogger;
  /**
   * How long fingerprinted files that a deploy drops are still served (and kept by prune), so a
   * page loaded before the deploy can still fetch its lazy chunks: for the next `deploys` deploys
   * and at most `seconds`. `false` serves only the new deploy's files.
   * @default { deploys: 10, seconds: 604800 } (7 days)
   */
  retain?: { deploys?: number; seconds?: number } | false;
  /**
   * Publish as the preview of this name instead of the live deploy: the live site is left as
   * it is, and `loadManifest(kv, { preview })` serves the preview. 1-22 lower-case letters,
   * digits or `-`. Previews are kept (and their files spared by prune) until replaced or removed
   * with `kv-assets remove-preview <name>`.
   * @default undefined
   */
  preview?: string;
  /**
   * Publish even when there is no file to publish, replacing the live site with an empty one.
   * Without it an empty folder (or one holding only files that are left out) is refused.
   * @default false
   */
  allowEmpty?: boolean;
  /**
   * Stops the sync when aborted: nothing is published unless publishing had begun (then it
   * finishes), the lock is released, and the sync rejects saying what was written.
   */
  signal?: AbortSignal;
  /** Called as files are processed and uploaded. */
  onProgress?: (progress: { done: number; total: number; uploadedBytes: number }) => void;
}

/** What a sync did. */
export interface SyncResult {
  manifest: AssetManifest;
  stats: {
    /** Files published. */
    files: number;
    /** Files whose content storage did not have yet. */
    newFiles: number;
    /** Keys written, manifest records included. */
    uploadedKeys: number;
    /** Bytes of content written. */
    uploadedBytes: number;
    /** Files left out and why. */
    skipped: SkippedFile[];
    /** Where it went. */
    target: string;
    durationMs: number;
  };
}

/** What a sync runs with: every option checked, with its default resolved once. */
export interface SyncSettings {
  prefix: string;
  /** Starts and ends with `/`. */
  basePath: string;
  chunk: number;
  /** The encodings to precompress to, in the order variants are listed; empty for none. */
  precompress: ContentEncoding[];
  precompressMinSize: number;
  digests: boolean;
  acceptVariants: boolean;
  brotliQuality: number;
  earlyHints: boolean;
  immutable: (path: string) => boolean;
  maxFileSize: number;
  keep: number;
  batchBytes: number;
  shardSize: number;
  /** The R2 bucket's binding and the size from which files go there, when asked for. */
  r2: { binding: string; minSize: number } | undefined;
  allowEmpty: boolean;
  retain: RetainSettings;
  preview: string | undefined;
  logger: SyncLogger;
  onProgress: NonNullable<SyncOptions["onProgress"]>;
  signal: AbortSignal | undefined;
  /** When the sync started (ms): names its history record and journal. */
  started: number;
}

/** Checks `options` and resolves every default, or throws naming the first problem. */
export function resolveSyncOptions(options: SyncOptions): SyncSettings {
  validateSyncOptions(options as Record<string, unknown>);
  const chunk = options.partSize ?? KV_VALUE_LIMIT;
  const maxFileSize = options.maxFileSize ?? 1024 * 1024 * 1024;
  const prefix = resolvePrefix(
    options.prefix ?? "",
    options.project,
    Math.ceil(maxFileSize / chunk),
  );
  if ((options.dir === undefined) === (options.files === undefined))
    fail("pass either dir (a folder) or files (in memory) to sync");
  const basePath = options.basePath ?? "/";
  if (!basePath.startsWith("/") || !basePath.endsWith("/") || decodePath(basePath) !== basePath) {
    fail(
      `basePath ${JSON.stringify(basePath)} is not a clean URL path that starts and ends with "/", like "/app/"`,
    );
  }
  return {
    prefix,
    basePath,
    chunk,
    precompress: encodingsOf(options.precompress ?? true),
    digests: options.digests ?? false,
    acceptVariants: options.acceptVariants ?? true,
    precompressMinSize: options.precompressMinSize ?? PRECOMPRESS_MIN_SIZE,
    brotliQuality: options.brotliQuality ?? DEFAULT_BROTLI_QUALITY,
    earlyHints: options.earlyHints ?? false,
    immutable: options.immutable ?? viteFingerprint(),
    maxFileSize,
    keep: options.keep ?? 3,
    batchBytes: options.batchBytes ?? 32 * 1024 * 1024,
    shardSize: options.shardSize ?? 1000,
    r2: options.r2 && { binding: options.r2.binding, minSize: options.r2.minSize ?? 1024 * 1024 },
    allowEmpty: options.allowEmpty ?? false,
    retain:
      options.retain === false
        ? { deploys: 0, seconds: 0 }
        : {
            deploys: options.retain?.deploys ?? DEFAULT_RETAIN.deploys,
            seconds: options.retain?.seconds ?? DEFAULT_RETAIN.seconds,
          },
    preview: options.preview,
    logger: packageLogger(options.logger ?? console),
    onProgress: options.onProgress ?? (() => {}),
    signal: options.signal,
    started: Date.now(),
  };
}

/** The encodings `precompress` asks for, in the runtime's order (smallest first). */
function encodingsOf(precompress: boolean | ContentEncoding[]): ContentEncoding[] {
  if (precompress === true) return ["br", "gzip"];
  if (precompress === false) return [];
  return CONTENT_ENCODINGS.filter((encoding) => precompress.includes(encoding));
}
