// Wraps a benchmark Worker with GET /__cost, which calls it `n` times in the isolate with its KV
// reads served from memory, so the caller can time the Worker's own work without HTTP or storage.
import { serveFromMemory } from "./count.js";

type Fetch = (request: Request, env: unknown, ctx: ExecutionContext) => Promise<Response>;

/** The Worker, answering /__cost?n=&path=&init= as well. */
export function withCost(worker: { fetch: Fetch }): { fetch: Fetch } {
  return {
    async fetch(request, env, ctx) {
      // A plain string test, not a URL parse: the check runs before every request served.
      if (!request.url.includes("/__cost?")) return worker.fetch(request, env, ctx);
      const url = new URL(request.url);
      const n = Number(url.searchParams.get("n") ?? 0);
      const target = new URL(url.searchParams.get("path") ?? "/", url.origin).href;
      const init = JSON.parse(url.searchParams.get("init") ?? "{}") as RequestInit;
      serveFromMemory(true);
      try {
        for (let i = 0; i < n; i++) {
          const response = await worker.fetch(new Request(target, init), env, ctx);
          await response.arrayBuffer();
        }
      } finally {
        serveFromMemory(false);
      }
      return new Response("ok");
    },
  };
}
