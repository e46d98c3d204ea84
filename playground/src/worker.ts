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
// The rules of public/_headers and public/_redirects came with the manifest. /api/* is the app's:
// never a file, a redirect or the 404 page, which answers every other miss.
const assets = createAssetHandler(manifest, env.ASSETS, {
  notFoundHandling: "404-page",
  runWorkerFirst: ["/api/*"],
});

export default {
  async fetch(request, _env, ctx): Promise<Response> {
    return (await assets(request, ctx)) ?? api(request);
  },
} satisfies ExportedHandler<Cloudflare.Env>;

function api(request: Request): Response {
  if (new URL(request.url).pathname === "/api/hello") {
    return Response.json({ message: "Hello from the Worker.", files: manifest.count });
  }
  return Response.json({ error: "no such route" }, { status: 404 });
}
