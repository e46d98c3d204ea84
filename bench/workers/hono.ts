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
app.use("*", (c, next) =>
  serveStatic({ root: "./", manifest: c.env.SITE_MANIFEST, namespace: counted(c.env.STATIC) })(
    c,
    next,
  ),
);
app.notFound((c) => c.text("Not found", 404));

export default app;
