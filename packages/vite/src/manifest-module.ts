// `virtual:kv-manifest`: the synced manifest as the Worker imports it, a Text module beside its code.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { manifestText, packManifest } from "@kv-assets/runtime/format";
import type { Plugin } from "vite";
import {
  emptyManifest,
  MANIFEST_FILE,
  watchedManifest,
  withCloudflare,
  writeManifestFile,
  type BuildState,
} from "./state.js";

const VIRTUAL_ID = "virtual:kv-manifest";
const RESOLVED_ID = `\0${VIRTUAL_ID}`;

/**
 * Provides `virtual:kv-manifest`. In `vite dev` it is an empty manifest, as the dev server serves
 * the client itself. In a build it reads the Text module `kv-assets-manifest.txt`, which a cold
 * isolate gets as a string without parsing it as JavaScript: beside the Worker's code in the
 * plugin's own Worker build (wrangler's default rules load it), or, when @cloudflare/vite-plugin
 * builds the Worker before the client, a placeholder filled in once the client is synced.
 */
export function manifestModule(state: BuildState): Plugin & { placeholder(): string | undefined } {
  let placeholder: string | undefined;
  let cloudflare = false;
  return {
    name: "kv-assets:manifest",
    sharedDuringBuild: true,
    placeholder: () => placeholder,

    configResolved(config) {
      state.config = config;
      cloudflare = withCloudflare(config.plugins);
    },

    resolveId(id, importer) {
      if (id === VIRTUAL_ID) return RESOLVED_ID;
      if (id === `./${MANIFEST_FILE}` && importer === RESOLVED_ID) return { id, external: true };
      return undefined;
    },

    load(id) {
      if (id !== RESOLVED_ID) return undefined;
      if (state.config.command !== "build") {
        return `export default ${JSON.stringify(packManifest(emptyManifest()))};`;
      }
      let specifier = `./${MANIFEST_FILE}`;
      // In `vite build --watch`, each sync of the client rewrites this file: the Worker rebuilds.
      if (!cloudflare && state.config.build.watch) {
        const file = watchedManifest(state.config);
        if (!existsSync(file)) writeManifestFile(file, emptyManifest());
        this.addWatchFile(file);
      }
      if (cloudflare) {
        placeholder ??= join(state.config.cacheDir, "kv-assets", MANIFEST_FILE);
        // Written only when it differs: a Worker's watcher rebuilds on each write of its imports.
        const empty = manifestText(packManifest(emptyManifest()));
        if (!existsSync(placeholder) || readFileSync(placeholder, "utf8") !== empty) {
          writeManifestFile(placeholder, emptyManifest());
        }
        specifier = placeholder;
      }
      return [
        `import text from ${JSON.stringify(specifier)};`,
        `import { readManifestText } from "@kv-assets/runtime";`,
        `export default readManifestText(text);`,
      ].join("\n");
    },
  };
}
