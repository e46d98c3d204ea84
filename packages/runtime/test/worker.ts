// A Worker as a user would write it, serving a manifest the tests store in KV under "test-manifest",
// and a platform's loader Worker that runs each project's code as a Dynamic Worker with an asset binding.
import { createAssetBinding } from "../src/binding.js";
import { serveAsset, validateManifest, type AssetManifest } from "../src/index.js";

interface Env {
  ASSETS: KVNamespace;
  LOADER: WorkerLoader;
}

/** Serves the project named in ctx.props to whoever holds the binding. */
export const AssetBinding = createAssetBinding<Env>({
  manifest: { ttl: 0 },
  serve: { notFoundHandling: "404-page" },
});

// The code a tenant deploys: everything it serves comes through its own env.ASSETS.
const TENANT_WORKER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/tenant/hello") return new Response("hello from the tenant");
    return env.ASSETS.fetch(request);
  },
};
`;

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/api/hello") return Response.json({ hello: "world" });

    // /dynamic/<project>/<path>: run the project's Worker with a binding to that project's files.
    const dynamic = /^\/dynamic\/([^/]*)(\/.*)$/.exec(url.pathname);
    if (dynamic) {
      const [, project = "", path = "/"] = dynamic;
      const exports = (ctx as unknown as { exports: { AssetBinding: (o: object) => Fetcher } })
        .exports;
      const tenant = env.LOADER.get(`tenant:${project}`, () => ({
        compatibilityDate: "2026-02-01",
        mainModule: "app.js",
        modules: { "app.js": TENANT_WORKER },
        env: { ASSETS: exports.AssetBinding({ props: { project: decodeURIComponent(project) } }) },
        globalOutbound: null,
      }));
      return tenant.getEntrypoint().fetch(new Request(new URL(path + url.search, url), request));
    }

    const manifest = await env.ASSETS.get<AssetManifest>("test-manifest", "json");
    if (!manifest || validateManifest(manifest))
      return new Response("no manifest", { status: 500 });
    const response = await serveAsset(
      request,
      manifest,
      env.ASSETS,
      { notFoundHandling: "404-page" },
      ctx,
    );
    return response ?? new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
