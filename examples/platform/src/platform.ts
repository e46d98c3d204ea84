// A small platform: tenants publish their sites through the upload API, and each tenant's Worker
// runs as a Dynamic Worker whose env.ASSETS serves that tenant's files and no other's.
import { createAssetBinding } from "@kv-assets/runtime/binding";
import { createUploadHandler } from "@kv-assets/runtime/publish";

interface Env {
  ASSETS: KVNamespace;
  LOADER: WorkerLoader;
  /** The token tenants publish with; a real platform checks each tenant's own. */
  UPLOAD_TOKEN: string;
}

/** The binding each tenant's Worker gets as env.ASSETS, for the project in its props. */
export const AssetBinding = createAssetBinding<Env>();

const upload = createUploadHandler<Env>({
  authorize: (request, _project, env) =>
    request.headers.get("Authorization") === `Bearer ${env.UPLOAD_TOKEN}`,
  quota: { files: 10_000, bytes: 512 * 1024 * 1024 },
  basePath: "/api/",
});

// What a tenant deploys: its own routes, and its files through env.ASSETS.
const TENANT_WORKER = `
export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === "/hello") return new Response("hello from the tenant");
    return env.ASSETS.fetch(request);
  },
};
`;

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const uploaded = await upload(request, env.ASSETS, env);
    if (uploaded) return uploaded;
    // <project>.<platform host>: run the tenant's Worker with a binding to its own files.
    const project = new URL(request.url).hostname.split(".")[0] ?? "";
    const exports = (ctx as unknown as { exports: { AssetBinding: (o: object) => Fetcher } })
      .exports;
    const tenant = env.LOADER.get(`tenant:${project}`, () => ({
      compatibilityDate: "2026-02-01",
      mainModule: "tenant.js",
      modules: { "tenant.js": TENANT_WORKER },
      env: { ASSETS: exports.AssetBinding({ props: { project } }) },
      globalOutbound: null,
    }));
    return tenant.getEntrypoint().fetch(request);
  },
} satisfies ExportedHandler<Env>;
