// @cloudflare/kv-asset-handler (Workers Sites), as its README sets it up for module Workers.
import { getAssetFromKV, NotFoundError } from "@cloudflare/kv-asset-handler";
import { counted, readsEndpoint } from "./count.js";

interface Env {
  STATIC: KVNamespace;
  SITE_MANIFEST: Record<string, string>;
}

export default {
  async fetch(request, env, ctx) {
    const reads = readsEndpoint(request);
    if (reads) return reads;
    try {
      return await getAssetFromKV(
        { request, waitUntil: (p: Promise<unknown>) => ctx.waitUntil(p) },
        { ASSET_NAMESPACE: counted(env.STATIC), ASSET_MANIFEST: env.SITE_MANIFEST },
      );
    } catch (error) {
      if (error instanceof NotFoundError) return new Response("Not found", { status: 404 });
      throw error;
    }
  },
} satisfies ExportedHandler<Env>;
