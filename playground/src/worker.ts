// The playground's Worker: an API route, and every other request served from KV.
import { createAssetHandler } from "@kv-assets/runtime";
import { env } from "cloudflare:workers";
import manifest from "virtual:kv-manifest";

declare global {
  namespace Cloudflare {
    // What `wrangler types` generates for this Worker's bindings.
    interface Env {
      ASSETS: KVNamespace;
    }
  }
}

// Made once per isolate, at module scope: the manifest's lookups and prepared responses live in it.
const assets = createAssetHandler(manifest, env.ASSETS, { notFoundHandling: "404-page" });

export default {
  async fetch(request, _env, ctx): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/api/hello") {
      return Response.json({
        message: "Hello from the Worker.",
        files: manifest.count,
      });
    }
    return (await assets(request, ctx)) ?? new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Cloudflare.Env>;
