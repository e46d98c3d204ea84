// kv-assets with edgeCache: bodies kept in the Cache API in front of KV, as kv-asset-handler does.
import { createAssetHandler, type PackedManifest } from "@kv-assets/runtime";
import { counted, readsEndpoint } from "./count.js";

interface Env {
  ASSETS: KVNamespace;
  MANIFEST: PackedManifest;
}

let handler: ReturnType<typeof createAssetHandler> | undefined;

export default {
  async fetch(request, env, ctx) {
    const reads = readsEndpoint(request);
    if (reads) return reads;
    handler ??= createAssetHandler(env.MANIFEST, counted(env.ASSETS), { edgeCache: true });
    return (await handler(request, ctx)) ?? new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
