// What the plugin's parts share during one build: the resolved config, the synced manifest, and
// the sync itself.
import {
  KV_VALUE_LIMIT,
  MANIFEST_VERSION,
  manifestText,
  packManifest,
} from "@kv-assets/runtime/format";
import type { AssetManifest } from "@kv-assets/runtime";
import {
  interruptible,
  KvAssetsError,
  syncAssets,
  terminalProgress,
  type SyncOptions,
} from "@kv-assets/sync";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ResolvedConfig } from "vite";
import type { KvAssetsOptions } from "./options.js";

/** Name of the Worker environment the plugin adds when given `worker`. */
export const WORKER_ENVIRONMENT = "worker";

/** The manifest's Text module, beside the Worker's code (see manifestText in the runtime). */
export const MANIFEST_FILE = "kv-assets-manifest.txt";

/** State of one build, shared by the plugin's parts. */
export interface BuildState {
  options: KvAssetsOptions;
  /** Set once the config is resolved. */
  config: ResolvedConfig;
  /** Files Vite emitted into the client build (the rest were copied from `public/`). */
  bundled: Set<string>;
  /** The manifest, once the client is synced. */
  manifest?: AssetManifest;
  /** Settles once the client's first sync has: what a Worker build in watch mode waits for. */
  firstSync: Deferred;
}

/** A promise with its settling functions. */
export interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/** Makes a {@link Deferred}; its rejection is handled where it is awaited. */
export function deferred(): Deferred {
  let resolve: () => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/**
 * The file `vite build --watch` keeps the latest manifest in: the Worker's build watches it, so
 * each sync of the client rebuilds the Worker with the new manifest. Beside wrangler's own state,
 * not under node_modules, which Vite's watcher ignores.
 */
export function watchedManifest(config: ResolvedConfig): string {
  return join(config.root, ".wrangler", "kv-assets", "synced-manifest.txt");
}

/** A manifest with no files, for `vite dev` and the placeholder the Worker is built with. */
export function emptyManifest(): AssetManifest {
  return {
    v: MANIFEST_VERSION,
    prefix: "",
    chunk: KV_VALUE_LIMIT,
    types: [],
    times: [],
    files: {},
  };
}

/**
 * Syncs the client folder and keeps its manifest. `inHook` says whether Vite runs this in a
 * Rollup hook, where it names the plugin before an error's message itself. SIGINT and SIGTERM
 * stop the sync cleanly and fail the build, instead of ending it with code 0.
 */
export async function publish(
  state: BuildState,
  clientDir: string,
  inHook: boolean,
): Promise<void> {
  const { config, options } = state;
  const assetsDir = config.build.assetsDir.replace(/^\/+|\/+$/g, "");
  const progress = terminalProgress(process.stdout);
  const logger = {
    info: (m: string) => (progress.end(), config.logger.info(m)),
    warn: (m: string) => (progress.end(), config.logger.warn(m)),
  };
  const { worker: _worker, workerOutDir: _workerOutDir, ...syncOptions } = options;
  const interrupt = interruptible();
  try {
    const result = await syncAssets({
      ...(syncOptions satisfies SyncOptions),
      // Vite injects each page's scripts and stylesheets: send them as its Early Hints.
      earlyHints: syncOptions.earlyHints ?? true,
      basePath: basePathOf(config.base),
      onProgress: progress.onProgress,
      dir: clientDir,
      cwd: config.root,
      logger,
      signal: interrupt.signal,
      // Vite hashes everything it emits under assetsDir; files copied from public/ are not hashed.
      immutable: (path) => state.bundled.has(path) && path.startsWith(`/${assetsDir}/`),
    });
    state.manifest = result.manifest;
  } catch (error) {
    throw error instanceof KvAssetsError ? forVite(error, inHook) : error;
  } finally {
    interrupt.end();
  }
  if (interrupt.signal.aborted) {
    throw forVite(
      new KvAssetsError(
        `interrupted by ${String(interrupt.signal.reason)} after the client was published to KV; the Worker build was stopped`,
      ),
      inHook,
    );
  }
}

/**
 * The URL path the client is served under, from Vite's `base`: an absolute path as it is, the path
 * of a full URL, and `/` for a relative base (`./` or empty), which works at any path.
 */
export function basePathOf(base: string): string {
  let path = base;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(base)) path = new URL(base).pathname;
  if (!path.startsWith("/")) return "/";
  return path.endsWith("/") ? path : `${path}/`;
}

/** Writes `manifest` to `file` as its Text module holds it, creating the file's folder. */
export function writeManifestFile(file: string, manifest: AssetManifest): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, manifestText(packManifest(manifest)));
}

/** Whether a plugin is @cloudflare/vite-plugin's. */
export function isCloudflarePlugin(plugin: unknown): boolean {
  const name = (plugin as { name?: unknown } | null)?.name;
  return typeof name === "string" && name.startsWith("vite-plugin-cloudflare");
}

/** Whether the user's plugins include @cloudflare/vite-plugin (presets nest plugin arrays). */
export function withCloudflare(plugins: readonly unknown[] | undefined): boolean {
  return flatten(plugins ?? []).some(isCloudflarePlugin);
}

// A problem the user can fix is one line: Vite prints an error's stack, and in a Rollup hook also
// the plugin's name before its message, so the stack is the message alone and the name not doubled.
function forVite(error: KvAssetsError, inHook: boolean): Error {
  const message = inHook ? error.message.replace(/^\[kv-assets\] /, "") : error.message;
  const plain = new Error(message, { cause: error });
  plain.stack = inHook ? `Error: ${message}\n` : message;
  return plain;
}

// Infinity depth is too deep for the type checker.
function flatten(plugins: readonly unknown[]): unknown[] {
  return plugins.flatMap((p) => (Array.isArray(p) ? flatten(p) : [p]));
}
