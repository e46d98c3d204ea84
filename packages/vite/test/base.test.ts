// Vite's `base`: the site is served under it, and requests outside it match no file.
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { pointerKey, type AssetManifest } from "@kv-assets/runtime/format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basePathOf } from "../src/state.js";
import { appConfig, appWorker, fixtures, runWorker, viteBuild, writeFiles } from "./build.js";

const ns = "00000000000000000000000000000b05";

// The Worker of both test apps: the site from KV, anything else "app route".
const WORKER = appWorker();

let root: string;

beforeAll(async () => {
  // Inside the repository, so the config resolves the workspace's packages.
  root = await mkdtemp(join(fixtures, "base-"));
  const files: Record<string, string> = {
    "index.html":
      '<!doctype html><h1>under base</h1><script type="module" src="/src/main.ts"></script>',
    "src/main.ts": 'document.body.append("hello");\n',
    "public/robots.txt": "User-agent: *\n",
    "src/worker.ts": WORKER,
    ...appConfig("base", ns, 'base: "/app/", '),
  };
  await writeFiles(root, files);
  const build = await viteBuild(root);
  expect(build.output).not.toMatch(/error/i);
  expect(build.code).toBe(0);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('vite build with base: "/app/"', () => {
  it("publishes every file under /app/ and serves the page and its script there", async () => {
    const mf = runWorker(root, "dist/worker/index.js", ns);
    try {
      const kv = await mf.getKVNamespace("ASSETS");
      const manifest = JSON.parse((await kv.get(pointerKey("")))!) as AssetManifest;
      const paths = Object.keys(manifest.files);
      expect(paths.every((p) => p.startsWith("/app/"))).toBe(true);
      expect(paths).toContain("/app/robots.txt");

      const page = await mf.dispatchFetch("http://localhost/app/");
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toMatch(/under base/);
      const script = /src="(\/app\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      const js = await mf.dispatchFetch(`http://localhost${script}`);
      expect(js.status).toBe(200);
      expect(js.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
      await js.arrayBuffer();

      const redirect = await mf.dispatchFetch("http://localhost/app", { redirect: "manual" });
      expect(redirect.status).toBe(307);
      expect(redirect.headers.get("Location")).toBe("/app/");
      await redirect.arrayBuffer();
    } finally {
      await mf.dispose();
    }
  });

  it("leaves requests outside /app/ to the app", async () => {
    const mf = runWorker(root, "dist/worker/index.js", ns);
    try {
      for (const path of ["/", "/index.html", "/robots.txt"]) {
        const response = await mf.dispatchFetch(`http://localhost${path}`);
        expect(await response.text()).toBe("app route");
      }
    } finally {
      await mf.dispose();
    }
  });
});

describe("vite build with its own outDir, assetsDir and publicDir", () => {
  it("syncs what lands in outDir, treats assetsDir as fingerprinted and publicDir as not", async () => {
    const other = await mkdtemp(join(fixtures, "dirs-"));
    try {
      const files: Record<string, string> = {
        "index.html":
          '<!doctype html><h1>dirs</h1><script type="module" src="/src/main.ts"></script>',
        "src/main.ts": 'document.body.append("hello");\n',
        "static-public/robots.txt": "User-agent: *\n",
        "src/worker.ts": WORKER,
        "wrangler.jsonc": JSON.stringify({
          name: "dirs",
          main: "out/worker/index.js",
          compatibility_date: "2026-02-01",
          kv_namespaces: [{ binding: "ASSETS", id: ns }],
        }),
        "vite.config.ts": [
          'import { defineConfig } from "vite";',
          'import { kvAssets } from "@kv-assets/vite";',
          'export default defineConfig({ logLevel: "warn", publicDir: "static-public", build: { outDir: "out/site", assetsDir: "static" }, plugins: [kvAssets({ worker: "src/worker.ts", workerOutDir: "out/worker" })] });',
        ].join("\n"),
      };
      await writeFiles(other, files);
      const build = await viteBuild(other);
      expect(build.code).toBe(0);
      const mf = runWorker(other, "out/worker/index.js", ns);
      try {
        const html = await (await mf.dispatchFetch("http://localhost/")).text();
        const script = /src="(\/static\/[^"]+\.js)"/.exec(html)?.[1];
        expect(script).toBeDefined();
        const js = await mf.dispatchFetch(`http://localhost${script}`);
        expect(js.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
        await js.arrayBuffer();
        const robots = await mf.dispatchFetch("http://localhost/robots.txt");
        expect(robots.status).toBe(200);
        expect(robots.headers.get("Cache-Control")).toBe("public, max-age=0, must-revalidate");
        await robots.arrayBuffer();
      } finally {
        await mf.dispose();
      }
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe("basePathOf", () => {
  it.each([
    ["/", "/"],
    ["/app/", "/app/"],
    ["/app", "/app/"],
    ["./", "/"],
    ["", "/"],
    ["https://cdn.example.com/site/", "/site/"],
  ])("turns Vite's base %j into %j", (base, path) => {
    expect(basePathOf(base)).toBe(path);
  });
});
