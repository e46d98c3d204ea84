// npm run bench:limits — which of a Worker's per-invocation limits workerd enforces when run
// locally (Miniflare), so the upload API's batch sizes are known to rest on measurement or on
// Cloudflare's published figures: KV operations, subrequests, request body size, memory.
import { Miniflare } from "miniflare";
import { machine, smoke, table } from "./lib.js";

const WORKER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get("n"));
    let i = 0;
    try {
      if (url.pathname === "/kv") for (; i < n; i++) await env.KV.put("k" + i, "v");
      if (url.pathname === "/fetch") for (; i < n; i++) await env.SELF.fetch("http://self/ping");
      if (url.pathname === "/memory") {
        const held = [];
        for (; i < n; i++) held.push(new Uint8Array(1024 * 1024).fill(i));
      }
      if (url.pathname === "/body") i = (await request.arrayBuffer()).byteLength;
      return new Response("ok " + i);
    } catch (error) {
      return new Response("failed at " + i + ": " + error.message);
    }
  },
};`;

const mf = new Miniflare({
  workers: [
    {
      name: "probe",
      modules: true,
      script: WORKER,
      compatibilityDate: "2026-02-01",
      kvNamespaces: ["KV"],
      serviceBindings: { SELF: "ping" },
    },
    {
      name: "ping",
      modules: true,
      script: "export default { fetch: () => new Response('pong') };",
    },
  ],
});
const ask = async (path: string, init?: { method: string; body: Uint8Array }): Promise<string> => {
  try {
    const response = await mf.dispatchFetch(`http://probe${path}`, init);
    return `${response.status} ${await response.text()}`;
  } catch (error) {
    return `error: ${String(error)}`;
  }
};
const scale = smoke ? 0.1 : 1;
const rows = [
  [
    "KV writes in one invocation",
    "1,000",
    `${Math.round(1500 * scale)}`,
    await ask(`/kv?n=${Math.round(1500 * scale)}`),
  ],
  [
    "subrequests in one invocation",
    "1,000 (paid)",
    `${Math.round(1200 * scale)}`,
    await ask(`/fetch?n=${Math.round(1200 * scale)}`),
  ],
  [
    "memory held (MiB)",
    "128",
    `${Math.round(200 * scale)}`,
    await ask(`/memory?n=${Math.round(200 * scale)}`),
  ],
  [
    "request body (MiB)",
    "100 (paid)",
    `${Math.round(120 * scale)}`,
    await ask("/body", {
      method: "POST",
      body: new Uint8Array(Math.round(120 * scale) * 1024 * 1024),
    }),
  ],
];
await mf.dispose();
console.log(`limits probe on ${machine()}${smoke ? " (smoke run)" : ""}\n`);
console.log(table(["limit", "Cloudflare's", "asked for", "local workerd answered"], rows));
