// With @cloudflare/vite-plugin: it builds the Workers, then the client; the client is synced once
// that plugin has moved the Workers' imported assets into it, and the manifest filled in after.
// In `vite build --watch`, each later rebuild of the client is synced and each rebuild of a Worker
// gets the latest manifest, so `wrangler dev` serves the new site after every save.
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { manifestText, packManifest } from "@kv-assets/runtime/format";
import { version, type Plugin, type Rollup, type ViteBuilder } from "vite";
import { MANIFEST_FILE, publish, withCloudflare, type BuildState } from "./state.js";

const VITE_MAJOR = Number(version.split(".")[0]);

/** Syncs the final client folder and writes the manifest into the Workers' placeholder modules. */
export function cloudflareIntegration(
  state: BuildState,
  placeholder: () => string | undefined,
): Plugin[] {
  // Where each Worker build emitted the placeholder, by its output folder.
  const manifestFiles = new Map<string, string>();
  // Set once the first build of `vite build --watch` is done: from then on, rebuilds are synced.
  let watching = false;
  let clientWritten = false;
  const apply: Plugin["apply"] = (config, env) =>
    env.command === "build" && withCloudflare(config.plugins);

  /** Writes the synced manifest into a Worker build's placeholder; its config loses `assets`. */
  async function fill(workerDir: string): Promise<void> {
    const file = manifestFiles.get(workerDir);
    if (file) await writeFile(file, manifestText(packManifest(state.manifest!)));
    await dropAssetsField(join(workerDir, "wrangler.json"));
  }

  /** Before that plugin builds: in watch mode, each build waits for its first output. */
  function beforeBuilds(builder: ViteBuilder): void {
    if (builder.config.build.watch) awaitFirstBuilds(builder);
  }

  /** Once that plugin has built everything: sync the client and fill in the manifests. */
  async function afterBuilds(builder: ViteBuilder): Promise<void> {
    const client = builder.environments.client;
    if (!client || !clientWritten) return;
    await publish(state, resolve(state.config.root, client.config.build.outDir), false);
    if (placeholder() && manifestFiles.size === 0) {
      throw new Error(
        `[kv-assets] no Worker build emitted the manifest module (${MANIFEST_FILE}); does the Worker import virtual:kv-manifest?`,
      );
    }
    for (const environment of Object.values(builder.environments)) {
      if (environment.name !== "client" && environment.config.consumer === "server") {
        await fill(resolve(state.config.root, environment.config.build.outDir));
      }
    }
    watching = Boolean(builder.config.build.watch);
  }

  return [
    {
      name: "kv-assets:cloudflare-watch",
      apply,
      buildApp: { order: "pre", handler: async (builder) => beforeBuilds(builder) },
    },
    {
      name: "kv-assets:cloudflare",
      sharedDuringBuild: true,
      apply,

      configResolved(config) {
        // Vite 6 has no buildApp hook for plugins: that plugin sets the builder's own buildApp,
        // read when the build starts, so ours goes around it.
        if (VITE_MAJOR >= 7 || !config.builder) return;
        const buildApp = config.builder.buildApp;
        config.builder.buildApp = async (builder) => {
          beforeBuilds(builder);
          await buildApp(builder);
          await afterBuilds(builder);
        };
      },

      async writeBundle(outputOptions, bundle) {
        const dir = outputOptions.dir ?? "";
        if (this.environment.name === "client") {
          clientWritten = true;
          for (const fileName of Object.keys(bundle)) state.bundled.add(`/${fileName}`);
          if (!watching) return;
          // A failed sync throws here and writes nothing: the last good site keeps serving.
          await publish(state, dir, true);
          for (const workerDir of manifestFiles.keys()) await fill(workerDir);
          return;
        }
        const file = placeholder();
        for (const output of Object.values(bundle)) {
          if (output.type === "asset" && file && output.originalFileNames.includes(file)) {
            manifestFiles.set(dir, join(dir, output.fileName));
          }
        }
        // A rebuilt Worker was given the empty placeholder and the plugin's config again.
        if (watching) await fill(dir);
      },

      buildApp: { order: "post", handler: afterBuilds },
    },
  ];
}

/**
 * In watch mode Vite's `builder.build` returns as soon as the watcher starts, before anything is
 * written, and @cloudflare/vite-plugin then reads the Worker's output that is not there yet. Each
 * build waits here for its first bundle to be written, or fails with its first error.
 */
function awaitFirstBuilds(builder: ViteBuilder): void {
  const build = builder.build.bind(builder);
  builder.build = async (environment) => {
    const result = await build(environment);
    if ("on" in result && typeof result.on === "function") await firstBundle(result);
    return result;
  };
}

function firstBundle(watcher: Rollup.RollupWatcher): Promise<void> {
  return new Promise((resolve, reject) => {
    const listener = (event: Rollup.RollupWatcherEvent): void => {
      if (event.code !== "END" && event.code !== "ERROR") return;
      watcher.off("event", listener);
      if (event.code === "END") resolve();
      else reject(event.error);
    };
    watcher.on("event", listener);
  });
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
