// With @cloudflare/vite-plugin: it builds the Workers, then the client; the client is synced once
// that plugin has moved the Workers' imported assets into it, and the manifest filled in after.
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { manifestText, packManifest } from "@kv-assets/runtime/format";
import type { Plugin, ViteBuilder } from "vite";
import { MANIFEST_FILE, publish, withCloudflare, type BuildState } from "./state.js";

/** Syncs the final client folder and writes the manifest into the Workers' placeholder modules. */
export function cloudflareIntegration(
  state: BuildState,
  placeholder: () => string | undefined,
): Plugin {
  // Where the Worker builds emitted the placeholder, to be filled in once the client is synced.
  const manifestFiles = new Set<string>();
  return {
    name: "kv-assets:cloudflare",
    sharedDuringBuild: true,
    apply: (config, env) => env.command === "build" && withCloudflare(config.plugins),

    writeBundle(outputOptions, bundle) {
      if (this.environment.name === "client") {
        for (const fileName of Object.keys(bundle)) state.bundled.add(`/${fileName}`);
        return;
      }
      const file = placeholder();
      for (const output of Object.values(bundle)) {
        if (output.type === "asset" && file && output.originalFileNames.includes(file)) {
          manifestFiles.add(join(outputOptions.dir ?? "", output.fileName));
        }
      }
    },

    buildApp: {
      order: "post",
      async handler(builder: ViteBuilder) {
        const client = builder.environments.client;
        if (!client?.isBuilt) return;
        await publish(state, resolve(state.config.root, client.config.build.outDir), false);
        if (placeholder() && manifestFiles.size === 0) {
          throw new Error(
            `[kv-assets] no Worker build emitted the manifest module (${MANIFEST_FILE}); does the Worker import virtual:kv-manifest?`,
          );
        }
        const text = manifestText(packManifest(state.manifest!));
        for (const file of manifestFiles) await writeFile(file, text);
        for (const environment of Object.values(builder.environments)) {
          if (environment.name !== "client" && environment.config.consumer === "server") {
            await dropAssetsField(
              resolve(state.config.root, environment.config.build.outDir, "wrangler.json"),
            );
          }
        }
      },
    },
  };
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
