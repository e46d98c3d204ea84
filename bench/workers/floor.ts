// The floor: map the path to a key and stream KV.get(key, "stream"); the least work possible.
import { counted, readsEndpoint } from "./count.js";

interface Env {
  ASSETS: KVNamespace;
  KEYS: Record<string, string>;
}

export default {
  async fetch(request, env) {
    const reads = readsEndpoint(request);
    if (reads) return reads;
    const key = env.KEYS[new URL(request.url).pathname];
    if (!key) return new Response("Not found", { status: 404 });
    const body = await counted(env.ASSETS).get(key, "stream");
    return body ? new Response(body) : new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
