// The plugin's options, checked when the config is loaded, before anything is built.
import { validateSyncOptions, type SyncOptions } from "@kv-assets/sync";

/** Options of {@link kvAssets}. */
export interface KvAssetsOptions extends Pick<
  SyncOptions,
  | "binding"
  | "config"
  | "environment"
  | "remote"
  | "remoteOptions"
  | "prefix"
  | "project"
  | "exclude"
  | "includeSourceMaps"
  | "precompress"
  | "persistTo"
  | "keep"
  | "r2"
  | "shardSize"
  | "maxFileSize"
  | "allowEmpty"
  | "retain"
  | "brotliQuality"
  | "earlyHints"
  | "digests"
  | "acceptVariants"
> {
  /**
   * Worker entry to build into `dist/worker/index.js` with the manifest compiled in. Leave it out
   * when `@cloudflare/vite-plugin` builds the Worker.
   */
  worker?: string;
  /**
   * Output folder of the Worker build (with `worker`).
   * @default "dist/worker"
   */
  workerOutDir?: string;
}

/** Refuses a misspelt option or a wrong value, naming it. */
export function validateOptions(options: KvAssetsOptions): void {
  if (typeof options !== "object" || options === null)
    throw new Error("[kv-assets] kvAssets() takes an object of options");
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) {
      throw new Error(
        `[kv-assets] unknown option ${JSON.stringify(name)}; the options are ${[...OPTION_NAMES].join(", ")}`,
      );
    }
  }
  for (const name of ["worker", "workerOutDir"] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== "string" || value === "")) {
      throw new Error(`[kv-assets] option ${name} must be a path (got ${JSON.stringify(value)})`);
    }
  }
  validateSyncOptions(options as Record<string, unknown>);
}

const OPTION_NAMES = new Set([
  "binding",
  "config",
  "environment",
  "remote",
  "remoteOptions",
  "prefix",
  "project",
  "exclude",
  "includeSourceMaps",
  "precompress",
  "persistTo",
  "keep",
  "r2",
  "shardSize",
  "maxFileSize",
  "allowEmpty",
  "retain",
  "brotliQuality",
  "earlyHints",
  "digests",
  "acceptVariants",
  "worker",
  "workerOutDir",
]);
