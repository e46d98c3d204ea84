// A Worker as a user would write it, serving a manifest the tests store in KV under "test-manifest".
import { serveAsset, validateManifest, type AssetManifest } from "../src/index.js";

interface Env {
  ASSETS: KVNamespace;
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    if (new URL(request.url).pathname === "/api/hello") return Response.json({ hello: "world" });
    const manifest = await env.ASSETS.get<AssetManifest>("test-manifest", "json");
    if (!manifest || validateManifest(manifest))
      return new Response("no manifest", { status: 500 });
    const response = await serveAsset(request, manifest, env.ASSETS, {
      notFoundHandling: "404-page",
      waitUntil: (p) => ctx.waitUntil(p),
    });
    return response ?? new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
