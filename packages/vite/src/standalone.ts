// Without @cloudflare/vite-plugin: sync the client once it is written, then build the Worker
// (the `worker` option) with the manifest compiled in.
import { resolve } from "node:path";
import { manifestText, packManifest } from "@kv-assets/runtime/format";
import * as vite from "vite";
import type { Plugin, ViteBuilder } from "vite";
import {
  MANIFEST_FILE,
  publish,
  watchedManifest,
  WORKER_ENVIRONMENT,
  withCloudflare,
  writeManifestFile,
  type BuildState,
} from "./state.js";

/** Syncs the client in its `writeBundle`, when @cloudflare/vite-plugin does not build the app. */
export function clientSync(state: BuildState): Plugin {
  return {
    // Vite names this plugin before the message of an error it throws: "[kv-assets] ...".
    name: "kv-assets",
    sharedDuringBuild: true,
    apply: (config, env) => env.command === "build" && !withCloudflare(config.plugins),

    configResolved(config) {
      if (!state.options.worker) {
        config.logger.warn(
          '[kv-assets] no worker entry: pass kvAssets({ worker: "src/worker.ts" }) or add @cloudflare/vite-plugin; only the client is synced',
        );
      }
    },

    async writeBundle(outputOptions, bundle) {
      if (this.environment.name !== "client") return;
      for (const fileName of Object.keys(bundle)) state.bundled.add(`/${fileName}`);
      const { config } = state;
      try {
        await publish(state, outputOptions.dir ?? resolve(config.root, config.build.outDir), true);
      } catch (error) {
        // A failed sync publishes nothing: in watch mode the last good site keeps serving.
        state.firstSync.reject(error);
        throw error;
      }
      if (config.build.watch && state.manifest) {
        writeManifestFile(watchedManifest(config), state.manifest);
      }
      state.firstSync.resolve();
    },
  };
}

/**
 * The output option that keeps the Worker in one module, as each Vite major spells it: Vite 8
 * bundles with Rolldown, which deprecates Rollup's `inlineDynamicImports` for `codeSplitting`.
 */
function oneChunk(): { inlineDynamicImports: true } | { codeSplitting: false } {
  return (vite as { rolldownVersion?: string }).rolldownVersion
    ? ({ codeSplitting: false } as { codeSplitting: false })
    : { inlineDynamicImports: true };
}

/** Adds the Worker environment and builds it after the client, with the manifest beside it. */
export function workerBuild(state: BuildState): Plugin {
  const { options } = state;
  const worker = options.worker as string;
  return {
    name: "kv-assets:worker",
    sharedDuringBuild: true,
    apply: (config) => options.worker !== undefined && !withCloudflare(config.plugins),

    config(userConfig) {
      // Emptying the Worker's folder on every rebuild of `vite build --watch` would leave
      // `wrangler dev` without a Worker while it rebuilds.
      const watching = Boolean(userConfig.build?.watch);
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
              outDir: options.workerOutDir ?? "dist/worker",
              emptyOutDir: !watching,
              copyPublicDir: false,
              ssr: true,
              target: "es2022",
              minify: false,
              rollupOptions: {
                input: { index: worker },
                external: [/^cloudflare:/],
                output: { format: "es", entryFileNames: "index.js", ...oneChunk() },
              },
            },
          },
        },
      };
    },

    configEnvironment(name, environment) {
      if (name !== WORKER_ENVIRONMENT) return;
      // Top-level build options are merged into every environment; a multi-page site's html inputs
      // must not become Worker entries, so the Worker's input replaces whatever was merged in.
      environment.build ??= {};
      environment.build.rollupOptions ??= {};
      environment.build.rollupOptions.input = { index: worker };
    },

    async generateBundle() {
      if (this.environment.name !== WORKER_ENVIRONMENT) return;
      // In watch mode the client and the Worker build side by side: wait for the client's sync.
      if (state.config.build.watch) {
        await state.firstSync.promise.catch(() =>
          this.error("the client's sync failed; fix what it said and save to rebuild"),
        );
      }
      if (!state.manifest) {
        this.error("the Worker was built before the client was synced; run vite build");
      }
      this.emitFile({
        type: "asset",
        fileName: MANIFEST_FILE,
        source: manifestText(packManifest(state.manifest)),
      });
    },

    buildApp: {
      order: "post",
      async handler(builder: ViteBuilder) {
        const client = builder.environments.client;
        if (client && !client.isBuilt) await builder.build(client);
        const built = builder.environments[WORKER_ENVIRONMENT];
        if (built && !built.isBuilt) await builder.build(built);
      },
    },
  };
}
