// Hono's serveStatic for Workers over the same Workers Sites keys.
import { Hono } from "hono";
import { serveStatic } from "hono/cloudflare-workers";
import { counted, readsEndpoint } from "./count.js";

interface Env {
  STATIC: KVNamespace;
  SITE_MANIFEST: Record<string, string>;
}

const app = new Hono<{ Bindings: Env }>();
app.get("/__reads", (c) => readsEndpoint(c.req.raw) as Response);
// The adapter reads `namespace` (see hono/dist/adapter/cloudflare-workers/serve-static.js) though
// its type leaves it out; the bench passes it so KV reads can be counted.
const options = (env: Env) =>
  ({ root: "./", manifest: env.SITE_MANIFEST, namespace: counted(env.STATIC) }) as Parameters<
    typeof serveStatic
  >[0];
app.use("*", (c, next) => serveStatic(options(c.env))(c, next));
app.notFound((c) => c.text("Not found", 404));

export default app;
