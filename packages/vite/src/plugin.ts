// The Vite plugin: sync the client build to KV and compile its manifest into the Worker build.
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { AssetManifest } from "@kv-assets/runtime";
import { syncAssets, terminalProgress, type SyncOptions } from "@kv-assets/sync";
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
const PLACEHOLDER = "__KV_ASSETS_MANIFEST_PLACEHOLDER__";

/** Serves the client build from Workers KV: syncs it on `vite build` and provides `virtual:kv-manifest`. */
export function kvAssets(options: KvAssetsOptions = {}): Plugin {
  const workerOutDir = options.workerOutDir ?? "dist/worker";
  let config: ResolvedConfig;
  let withCloudflare = false;
  let manifest: AssetManifest | undefined;
  const bundled = new Set<string>();
  const placeholders = new Set<string>();

  async function publish(clientDir: string): Promise<void> {
    const assetsDir = config.build.assetsDir.replace(/^\/+|\/+$/g, "");
    const progress = terminalProgress(process.stdout);
    const logger = {
      info: (m: string) => (progress.end(), config.logger.info(m)),
      warn: (m: string) => (progress.end(), config.logger.warn(m)),
    };
    const result = await syncAssets({
      ...options,
      onProgress: progress.onProgress,
      dir: clientDir,
      cwd: config.root,
      logger,
      // Vite hashes everything it emits under assetsDir; files copied from public/ are not hashed.
      immutable: (path) => bundled.has(path) && path.startsWith(`/${assetsDir}/`),
    });
    manifest = result.manifest;
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

    resolveId(id) {
      return id === VIRTUAL_ID ? RESOLVED_ID : undefined;
    },

    load(id) {
      if (id !== RESOLVED_ID) return undefined;
      if (manifest)
        return `export default JSON.parse(${JSON.stringify(JSON.stringify(manifest))});`;
      if (config.command === "build") {
        // The Worker is built before the client (as @cloudflare/vite-plugin does): leave a marker
        // that is replaced with the manifest once the client is synced.
        return `export default JSON.parse(${JSON.stringify(PLACEHOLDER)});`;
      }
      // In `vite dev` the dev server serves the client itself; the Worker gets an empty manifest.
      return `export default ${JSON.stringify(emptyManifest())};`;
    },

    writeBundle(outputOptions, bundle) {
      if (this.environment.name === "client") {
        for (const fileName of Object.keys(bundle)) bundled.add(`/${fileName}`);
        if (!withCloudflare)
          return publish(outputOptions.dir ?? resolve(config.root, config.build.outDir));
        return undefined;
      }
      for (const output of Object.values(bundle)) {
        if (output.type === "chunk" && output.code.includes(PLACEHOLDER)) {
          placeholders.add(join(outputOptions.dir ?? "", output.fileName));
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
        await publish(resolve(config.root, client.config.build.outDir));
        const literal = JSON.stringify(JSON.stringify(manifest));
        for (const file of placeholders) {
          const code = await readFile(file, "utf8");
          await writeFile(
            file,
            code.replace(new RegExp(`(["'\`])${PLACEHOLDER}\\1`, "g"), literal),
          );
        }
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

/** A manifest with no files, for `vite dev`. */
export function emptyManifest(): AssetManifest {
  return { v: 1, prefix: "", chunk: 25 * 1024 * 1024, types: [], times: [], files: {} };
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
