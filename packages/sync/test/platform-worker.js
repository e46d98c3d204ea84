// A platform's Worker as a test runs it: the upload API under /api/ for tenants with the token,
// and each tenant's site served by the X-Project header.
import { createAssetHandler, loadManifest } from "@kv-assets/runtime";
import { createUploadHandler } from "@kv-assets/runtime/publish";

const upload = createUploadHandler({
  authorize: (request) => request.headers.get("Authorization") === "Bearer tenant-token",
  quota: { files: 20_000 },
  basePath: "/api/",
});

export default {
  async fetch(request, env) {
    const answered = await upload(request, env.ASSETS, env);
    if (answered) return answered;
    const project = request.headers.get("X-Project") ?? "";
    const manifest = await loadManifest(env.ASSETS, { project, ttl: 0 });
    const response = manifest && (await createAssetHandler(manifest, env.ASSETS)(request));
    return response ?? new Response("Not found", { status: 404 });
  },
};
