// Representations a Vite build gets: Markdown beside a page and WebP beside an image (made by a
// small plugin, as the README shows), chosen by Accept; sha-256 digests; multipart ranges; zstd.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Zstd } from "@hpcc-js/wasm-zstd";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Miniflare } from "miniflare";
import { parseMultipart } from "../../runtime/test/parse-multipart.js";
import { appWorker, fixtures, runWorker, viteBuild, writeFiles } from "./build.js";

const ns = "00000000000000000000000000000d02";
/** Bytes standing in for a PNG: Vite copies an image it imports without reading it. */
const PNG = new Uint8Array(6000).map((_, i) => (i * 7) % 256);
const WEBP_MARK = "webp made from the png";

// The README's recipe, with a stand-in for the encoder: a WebP beside every image Vite emits.
const CONFIG = `
import { defineConfig } from "vite";
import { kvAssets } from "@kv-assets/vite";

function webpSiblings() {
  return {
    name: "webp-siblings",
    apply: "build",
    generateBundle(_options, bundle) {
      if (this.environment.name !== "client") return;
      for (const file of Object.values(bundle)) {
        if (file.type !== "asset" || !/\\.(png|jpe?g)$/.test(file.fileName)) continue;
        this.emitFile({
          type: "asset",
          fileName: file.fileName.replace(/\\.\\w+$/, ".webp"),
          source: ${JSON.stringify(WEBP_MARK)},
        });
      }
    },
  };
}

export default defineConfig({
  logLevel: "warn",
  plugins: [
    webpSiblings(),
    kvAssets({ worker: "src/worker.ts", digests: true, precompress: ["br", "zstd", "gzip"] }),
  ],
});
`;

let root: string;
let mf: Miniflare;
let image: string;

beforeAll(async () => {
  root = await mkdtemp(join(fixtures, "representations-"));
  await writeFiles(root, {
    "index.html": '<!doctype html><h1>home</h1><img src="/src/photo.png">',
    "src/main.ts": "",
    "public/docs/index.html": "<!doctype html><h1>Docs</h1><p>For people.</p>",
    "public/docs/index.md": "# Docs\n\nFor agents.\n",
    "public/app.css": "body { color: rebeccapurple; margin: 0 auto; }\n".repeat(100),
    "src/worker.ts": appWorker(),
    "vite.config.ts": CONFIG,
    "wrangler.jsonc": JSON.stringify({
      name: "representations",
      main: "dist/worker/index.js",
      compatibility_date: "2026-02-01",
      kv_namespaces: [{ binding: "ASSETS", id: ns }],
    }),
  });
  await writeFile(join(root, "src", "photo.png"), PNG);
  const result = await viteBuild(root);
  expect(result.output).not.toMatch(/error/i);
  expect(result.code).toBe(0);
  const html = await readFile(join(root, "dist", "client", "index.html"), "utf8");
  image = /src="(\/assets\/photo-[\w-]+\.png)"/.exec(html)![1]!;
  mf = runWorker(root, "dist/worker/index.js", ns);
}, 120_000);

afterAll(async () => {
  await mf?.dispose();
  await rm(root, { recursive: true, force: true });
});

const get = (path: string, headers: Record<string, string> = {}) =>
  mf.dispatchFetch(`http://localhost${path}`, { headers });

describe("a vite build with Markdown and WebP beside its pages and images", () => {
  it("sends a page's Markdown to Accept: text/markdown and the page to a browser", async () => {
    const markdown = await get("/docs/", { Accept: "text/markdown" });
    expect(markdown.headers.get("Content-Type")).toBe("text/markdown; charset=utf-8");
    expect(markdown.headers.get("Vary")).toMatch(/\bAccept\b/);
    expect(await markdown.text()).toBe("# Docs\n\nFor agents.\n");
    const page = await get("/docs/", { Accept: "text/html,*/*;q=0.8" });
    expect(await page.text()).toContain("For people.");
  });

  it("sends the WebP the plugin made beside a fingerprinted image to a browser that takes it", async () => {
    const webp = await get(image, { Accept: "image/avif,image/webp,image/*,*/*;q=0.8" });
    expect(webp.headers.get("Content-Type")).toBe("image/webp");
    expect(webp.headers.get("Content-Location")).toBe(image.replace(/\.png$/, ".webp"));
    expect(webp.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(await webp.text()).toBe(WEBP_MARK);
    const png = await get(image, { Accept: "*/*" });
    expect(png.headers.get("Content-Type")).toBe("image/png");
    expect(new Uint8Array(await png.arrayBuffer())).toEqual(PNG);
  });

  it("sends Repr-Digest, the sha-256 of the body", async () => {
    const response = await get("/docs/index.md");
    const body = new Uint8Array(await response.arrayBuffer());
    const sha = createHash("sha256").update(body).digest("base64");
    expect(response.headers.get("Repr-Digest")).toBe(`sha-256=:${sha}:`);
  });

  it("answers two ranges of a synced file with multipart/byteranges holding their bytes", async () => {
    const css = await readFile(join(root, "dist", "client", "app.css"));
    const response = await get("/app.css", {
      "Accept-Encoding": "identity",
      Range: "bytes=0-9, 2000-2009",
    });
    expect(response.status).toBe(206);
    const parts = parseMultipart(
      response.headers.get("Content-Type")!,
      new Uint8Array(await response.arrayBuffer()),
    );
    expect(parts.map((part) => part.range)).toEqual([
      `bytes 0-9/${css.byteLength}`,
      `bytes 2000-2009/${css.byteLength}`,
    ]);
    expect(parts[0]!.bytes).toEqual(new Uint8Array(css.subarray(0, 10)));
    expect(parts[1]!.bytes).toEqual(new Uint8Array(css.subarray(2000, 2010)));
  });

  it("sends zstd to a client that prefers it, decoding to the file", async () => {
    const response = await get("/app.css", { "Accept-Encoding": "zstd, br;q=0.5" });
    // Miniflare hands the Worker's Content-Encoding over under this name, the body as it was sent.
    expect(response.headers.get("MF-Content-Encoding")).toBe("zstd");
    const body = new Uint8Array(await response.arrayBuffer());
    const decoded = (await Zstd.load()).decompress(body);
    expect(new TextDecoder().decode(decoded)).toBe(
      await readFile(join(root, "dist", "client", "app.css"), "utf8"),
    );
  });
});
