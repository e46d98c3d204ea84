// The Vite plugin: sync the client build to KV and compile its manifest into the Worker build.
import { mkdirSync, writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { manifestText, packManifest, type AssetManifest } from "@kv-assets/runtime";
import {
  interruptible,
  KvAssetsError,
  syncAssets,
  terminalProgress,
  validateSyncOptions,
  type SyncOptions,
} from "@kv-assets/sync";
import type { Plugin, ResolvedConfig, ViteBuilder } from "vite";

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

/** Name of the Worker environment the plugin adds when given `worker`. */
export const WORKER_ENVIRONMENT = "worker";

const VIRTUAL_ID = "virtual:kv-manifest";
const RESOLVED_ID = `\0${VIRTUAL_ID}`;
/** The manifest's Text module, beside the Worker's code (see manifestText in the runtime). */
const MANIFEST_FILE = "kv-assets-manifest.txt";

/** Serves the client build from Workers KV: syncs it on `vite build` and provides `virtual:kv-manifest`. */
export function kvAssets(options: KvAssetsOptions = {}): Plugin {
  validateOptions(options);
  const workerOutDir = options.workerOutDir ?? "dist/worker";
  let config: ResolvedConfig;
  let withCloudflare = false;
  let manifest: AssetManifest | undefined;
  const bundled = new Set<string>();
  /** The placeholder Text module the Worker is built with when it is built before the client. */
  let placeholder: string | undefined;
  /** Where the Worker builds emitted that placeholder, to be filled in once the client is synced. */
  const manifestFiles = new Set<string>();

  /**
   * Syncs the client folder. `inHook` says whether Vite runs this in a Rollup hook, where it
   * names the plugin before an error's message itself.
   */
  async function publish(clientDir: string, inHook: boolean): Promise<void> {
    const assetsDir = config.build.assetsDir.replace(/^\/+|\/+$/g, "");
    const progress = terminalProgress(process.stdout);
    const logger = {
      info: (m: string) => (progress.end(), config.logger.info(m)),
      warn: (m: string) => (progress.end(), config.logger.warn(m)),
    };
    const { worker: _worker, workerOutDir: _workerOutDir, ...syncOptions } = options;
    // SIGINT and SIGTERM stop the sync cleanly and fail the build, instead of ending it with code 0.
    const interrupt = interruptible();
    try {
      const result = await syncAssets({
        ...syncOptions,
        onProgress: progress.onProgress,
        dir: clientDir,
        cwd: config.root,
        logger,
        signal: interrupt.signal,
        // Vite hashes everything it emits under assetsDir; files copied from public/ are not hashed.
        immutable: (path) => bundled.has(path) && path.startsWith(`/${assetsDir}/`),
      });
      manifest = result.manifest;
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

  return {
    name: "kv-assets",
    sharedDuringBuild: true,

    config(userConfig) {
      withCloudflare = flatten(userConfig.plugins ?? []).some(isCloudflarePlugin);
      if (withCloudflare || !options.worker) return undefined;
      return {
        builder: {},
        build: { outDir: userConfig.build?.outDir ?? "dist/client" },
        environments: {
          [WORKER_ENVIRONMENT]: {
            consumer: "server",
            keepProcessEnv: false,
            resolve: {
              conditions: ["workerd", "worker", "module", "browser"],
              externalConditions: ["workerd", "worker"],
              noExternal: true,
            },
            build: {
              outDir: workerOutDir,
              emptyOutDir: true,
              copyPublicDir: false,
              ssr: true,
              target: "es2022",
              minify: false,
              rollupOptions: {
                input: { index: options.worker },
                external: [/^cloudflare:/],
                output: { format: "es", entryFileNames: "index.js", inlineDynamicImports: true },
              },
            },
          },
        },
      };
    },

    configEnvironment(name, environment) {
      if (name !== WORKER_ENVIRONMENT || withCloudflare || !options.worker) return;
      // Top-level build options are merged into every environment; a multi-page site's html inputs
      // must not become Worker entries, so the Worker's input replaces whatever was merged in.
      environment.build ??= {};
      environment.build.rollupOptions ??= {};
      environment.build.rollupOptions.input = { index: options.worker };
    },

    configResolved(resolved) {
      config = resolved;
      withCloudflare = resolved.plugins.some(isCloudflarePlugin);
      if (resolved.command === "build" && !withCloudflare && !options.worker) {
        resolved.logger.warn(
          '[kv-assets] no worker entry: pass kvAssets({ worker: "src/worker.ts" }) or add @cloudflare/vite-plugin; only the client is synced',
        );
      }
    },

    resolveId(id, importer) {
      if (id === VIRTUAL_ID) return RESOLVED_ID;
      // The Worker's own build (the `worker` option) leaves the manifest file to wrangler, whose
      // default rules load a `.txt` import as a Text module.
      if (id === `./${MANIFEST_FILE}` && importer === RESOLVED_ID) return { id, external: true };
      return undefined;
    },

    load(id) {
      if (id !== RESOLVED_ID) return undefined;
      // In `vite dev` the dev server serves the client itself; the Worker gets an empty manifest.
      if (config.command !== "build") {
        return `export default ${JSON.stringify(packManifest(emptyManifest()))};`;
      }
      // The manifest is a Text module, which a cold isolate gets as a string without parsing it.
      // @cloudflare/vite-plugin builds the Worker before the client and emits the `.txt` import
      // as such a module: it gets a placeholder, filled in once the client is synced.
      let specifier = `./${MANIFEST_FILE}`;
      if (withCloudflare) {
        placeholder ??= join(config.cacheDir, "kv-assets", MANIFEST_FILE);
        mkdirSync(join(placeholder, ".."), { recursive: true });
        writeFileSync(placeholder, manifestText(packManifest(emptyManifest())));
        specifier = placeholder;
      }
      return [
        `import text from ${JSON.stringify(specifier)};`,
        `import { readManifestText } from "@kv-assets/runtime";`,
        `export default readManifestText(text);`,
      ].join("\n");
    },

    generateBundle() {
      if (withCloudflare || this.environment.name !== WORKER_ENVIRONMENT) return;
      if (!manifest) {
        this.error("[kv-assets] the Worker was built before the client was synced; run vite build");
      }
      this.emitFile({
        type: "asset",
        fileName: MANIFEST_FILE,
        source: manifestText(packManifest(manifest)),
      });
    },

    writeBundle(outputOptions, bundle) {
      if (this.environment.name === "client") {
        for (const fileName of Object.keys(bundle)) bundled.add(`/${fileName}`);
        if (!withCloudflare)
          return publish(outputOptions.dir ?? resolve(config.root, config.build.outDir), true);
        return undefined;
      }
      for (const output of Object.values(bundle)) {
        if (
          output.type === "asset" &&
          placeholder &&
          output.originalFileNames.includes(placeholder)
        ) {
          manifestFiles.add(join(outputOptions.dir ?? "", output.fileName));
        }
      }
      return undefined;
    },

    buildApp: {
      order: "post",
      async handler(builder: ViteBuilder) {
        const client = builder.environments.client;
        if (!withCloudflare) {
          if (!options.worker) return;
          if (client && !client.isBuilt) await builder.build(client);
          const worker = builder.environments[WORKER_ENVIRONMENT];
          if (worker && !worker.isBuilt) await builder.build(worker);
          return;
        }
        // @cloudflare/vite-plugin built the Workers, then the client, then moved the Workers'
        // imported assets into the client folder: sync that final folder, then fill in the manifest.
        if (!client?.isBuilt) return;
        await publish(resolve(config.root, client.config.build.outDir), false);
        if (placeholder && manifestFiles.size === 0) {
          throw new Error(
            `[kv-assets] no Worker build emitted the manifest module (${MANIFEST_FILE}); does the Worker import virtual:kv-manifest?`,
          );
        }
        const text = manifestText(packManifest(manifest!));
        for (const file of manifestFiles) await writeFile(file, text);
        for (const environment of Object.values(builder.environments)) {
          if (environment.name !== "client" && environment.config.consumer === "server") {
            await dropAssetsField(
              resolve(config.root, environment.config.build.outDir, "wrangler.json"),
            );
          }
        }
      },
    },
  };
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
  "worker",
  "workerOutDir",
]);

// Refuses a misspelt option or a wrong value when the config is loaded, before anything is built.
function validateOptions(options: KvAssetsOptions): void {
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

/** A manifest with no files, for `vite dev`. */
export function emptyManifest(): AssetManifest {
  return { v: 1, prefix: "", chunk: 25 * 1024 * 1024, types: [], times: [], files: {} };
}

// A problem the user can fix is one line: Vite prints an error's stack, and in a Rollup hook also
// the plugin's name before its message, so the stack is the message alone and the name not doubled.
function forVite(error: KvAssetsError, inHook: boolean): Error {
  const message = inHook ? error.message.replace(/^\[kv-assets\] /, "") : error.message;
  const plain = new Error(message, { cause: error });
  plain.stack = inHook ? `Error: ${message}\n` : message;
  return plain;
}

function isCloudflarePlugin(plugin: unknown): boolean {
  const name = (plugin as { name?: unknown } | null)?.name;
  return typeof name === "string" && name.startsWith("vite-plugin-cloudflare");
}

// The site is served from KV: without this, `wrangler deploy` would also upload the client folder to
// Workers Static Assets and the platform would answer asset requests before the Worker runs.
async function dropAssetsField(configPath: string): Promise<void> {
  const text = await readFile(configPath, "utf8").catch(() => null);
  if (text === null) return;
  const parsed = JSON.parse(text) as Record<string, unknown>;
  if (!("assets" in parsed)) return;
  delete parsed.assets;
  await writeFile(configPath, JSON.stringify(parsed));
}

// User config may nest plugin arrays (presets); Infinity depth is too deep for the type checker.
function flatten(plugins: readonly unknown[]): unknown[] {
  return plugins.flatMap((p) => (Array.isArray(p) ? flatten(p) : [p]));
}
