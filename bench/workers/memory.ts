// One Worker, two ways to serve the same 2 KiB file: kv-assets (?mode=kv-assets) or a bare KV.get.
import { createAssetHandler, type AssetManifest } from "@kv-assets/runtime";

interface Env {
  KV: KVNamespace;
}

const KEY = "0123456789abcdef";
const manifest: AssetManifest = {
  v: 1,
  prefix: "",
  chunk: 26214400,
  types: ["text/css; charset=utf-8"],
  times: [1704164645],
  files: { "/small.css": [KEY, 2048, 0, 0, 0] },
};
let handler: ReturnType<typeof createAssetHandler> | undefined;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/put") {
      await env.KV.put(KEY, new Uint8Array(2048).fill(97));
      return new Response("ok");
    }
    if (url.searchParams.get("mode") === "floor") {
      return new Response(await env.KV.get(KEY, "stream"));
    }
    handler ??= createAssetHandler(manifest, env.KV);
    return (await handler(request)) ?? new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
