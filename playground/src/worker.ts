// The playground's Worker: an API route, and every other request served from KV.
import { serveAsset } from "@kv-assets/runtime";
import manifest from "virtual:kv-manifest";

interface Env {
  ASSETS: KVNamespace;
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/api/hello") {
      return Response.json({
        message: "Hello from the Worker.",
        files: manifest.count,
      });
    }
    const response = await serveAsset(request, manifest, env.ASSETS, {
      notFoundHandling: "404-page",
      waitUntil: (promise) => ctx.waitUntil(promise),
    });
    return response ?? new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
