// The Vite plugin: sync the client build to KV and compile its manifest into the Worker build.
import type { Plugin } from "vite";
import { cloudflareIntegration } from "./cloudflare.js";
import { manifestModule } from "./manifest-module.js";
import { validateOptions, type KvAssetsOptions } from "./options.js";
import { clientSync, workerBuild } from "./standalone.js";
import { deferred, type BuildState } from "./state.js";

/**
 * Serves the client build from Workers KV: syncs it on `vite build` and provides
 * `virtual:kv-manifest`. Returns small plugins, each applying only where it belongs: the manifest
 * module always, the client sync and the Worker build on their own, or the integration with
 * @cloudflare/vite-plugin when that plugin builds the app.
 */
export function kvAssets(options: KvAssetsOptions = {}): Plugin[] {
  validateOptions(options);
  const state = { options, bundled: new Set<string>(), firstSync: deferred() } as BuildState;
  const manifest = manifestModule(state);
  return [
    manifest,
    clientSync(state),
    workerBuild(state),
    ...cloudflareIntegration(state, manifest.placeholder),
  ];
}
