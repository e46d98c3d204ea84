// The kv-assets benchmark Workers: createAssetHandler over the packed manifest, with the options each measures.
import {
  createAssetHandler,
  type PackedManifest,
  type ServeAssetOptions,
} from "@kv-assets/runtime";
import { counted, readsEndpoint } from "./count.js";

/** The bindings of a benchmark Worker. */
export interface Env {
  ASSETS: KVNamespace;
  MANIFEST: PackedManifest;
}

/** A Worker serving the bench's site from KV through a handler made once with `options`. */
export function kvAssetsWorker(options: ServeAssetOptions = {}): {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response>;
} {
  let handler: ReturnType<typeof createAssetHandler> | undefined;
  return {
    async fetch(request, env, ctx) {
      const reads = readsEndpoint(request);
      if (reads) return reads;
      handler ??= createAssetHandler(env.MANIFEST, counted(env.ASSETS), options);
      return (await handler(request, ctx)) ?? new Response("Not found", { status: 404 });
    },
  };
}
