// kv-assets with memoryCache off: every body from KV, as before the in-isolate cache.
import { createAssetHandler, type PackedManifest } from "@kv-assets/runtime";
import { counted, readsEndpoint } from "./count.js";

interface Env {
  ASSETS: KVNamespace;
  MANIFEST: PackedManifest;
}

let handler: ReturnType<typeof createAssetHandler> | undefined;

export default {
  async fetch(request, env) {
    const reads = readsEndpoint(request);
    if (reads) return reads;
    handler ??= createAssetHandler(env.MANIFEST, counted(env.ASSETS), { memoryCache: false });
    return (await handler(request)) ?? new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
