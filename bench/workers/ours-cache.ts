// kv-assets with edgeCache: bodies kept in the Cache API in front of KV, as kv-asset-handler does.
import { createAssetHandler, type PackedManifest } from "@kv-assets/runtime";
import { counted, readsEndpoint } from "./count.js";

interface Env {
  ASSETS: KVNamespace;
  MANIFEST: PackedManifest;
}

export default {
  async fetch(request, env, ctx) {
    const reads = readsEndpoint(request);
    if (reads) return reads;
    const handler = createAssetHandler(env.MANIFEST, counted(env.ASSETS), {
      edgeCache: true,
      waitUntil: (p) => ctx.waitUntil(p),
    });
    return (await handler(request)) ?? new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
