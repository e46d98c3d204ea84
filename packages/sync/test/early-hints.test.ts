// Early Hints: the Link header read from a page, and carried from deploy to deploy.
import { describe, expect, it } from "vitest";
import { getAsset } from "@kv-assets/runtime/format";
import { linkHeaderOf } from "../src/early-hints.js";
import { syncAssets } from "../src/index.js";
import { memoryTarget } from "./memory-target.js";
import { memoryLogger } from "./project.js";

// The head Vite writes for a page with a script and a stylesheet, and a preloaded font.
const VITE_PAGE = `<!doctype html><html><head>
  <script type="module" crossorigin src="/assets/index-B1x2Y3z4.js"></script>
  <link rel="modulepreload" crossorigin href="/assets/vendor-Ab12Cd34.js">
  <link rel="stylesheet" crossorigin href="/assets/index-Qw12Er34.css">
  <link rel="preload" href="/fonts/inter.woff2" as="font" type="font/woff2" crossorigin>
  <link rel="preconnect" href="https://api.example.com">
  <link rel="icon" href="/favicon.ico">
  <!-- <link rel="stylesheet" href="/commented-out.css"> -->
</head><body></body></html>`;

describe("linkHeaderOf", () => {
  it("reads a Vite page's module scripts, stylesheets, preloads and preconnects in order", () => {
    expect(linkHeaderOf(VITE_PAGE)?.split(", ")).toEqual([
      "</assets/index-B1x2Y3z4.js>; rel=modulepreload; crossorigin",
      "</assets/vendor-Ab12Cd34.js>; rel=modulepreload; crossorigin",
      "</assets/index-Qw12Er34.css>; rel=preload; as=style; crossorigin",
      '</fonts/inter.woff2>; rel=preload; as=font; type="font/woff2"; crossorigin',
      "<https://api.example.com>; rel=preconnect",
    ]);
  });

  it.each([
    ["no links", "<p>plain</p>"],
    ["a classic script", '<script src="/app.js"></script>'],
    ["a URL with a comma", '<link rel="stylesheet" href="/a,b.css">'],
    ["a URL with a quote", `<link rel="stylesheet" href='/a".css'>`],
    ["a preload without as", '<link rel="preload" href="/x.js">'],
  ])("gives nothing for %s", (_, html) => {
    expect(linkHeaderOf(html)).toBeUndefined();
  });
});

describe("earlyHints in a sync", () => {
  it("records each page's Link by its content, and keeps it on a deploy that did not read the page", async () => {
    const target = memoryTarget();
    const files = { "/index.html": VITE_PAGE, "/plain.html": "<p>plain</p>", "/app.js": "x" };
    const first = await syncAssets({ target, files, earlyHints: true, logger: memoryLogger() });
    const index = getAsset(first.manifest, "/index.html")!;
    expect(index.link).toMatch(/^<\/assets\/index-B1x2Y3z4\.js>; rel=modulepreload/);
    expect(getAsset(first.manifest, "/plain.html")!.link).toBeUndefined();
    expect(first.manifest.links).toEqual({
      values: [index.link],
      pages: { [index.etag.slice(1, -1)]: 0 },
    });
    const second = await syncAssets({
      target,
      files: { ...files, "/app.js": "y" },
      earlyHints: true,
      logger: memoryLogger(),
    });
    expect(getAsset(second.manifest, "/index.html")!.link).toBe(index.link);
    expect(second.stats.newFiles).toBe(1);
  });

  it("keeps a Link value once however many pages share it", async () => {
    const { manifest } = await syncAssets({
      target: memoryTarget(),
      files: {
        "/a.html": VITE_PAGE,
        "/b.html": `${VITE_PAGE}<p>b</p>`,
        "/c.html": `${VITE_PAGE}<p>c</p>`,
      },
      earlyHints: true,
      logger: memoryLogger(),
    });
    expect(manifest.links!.values).toHaveLength(1);
    expect(Object.values(manifest.links!.pages)).toEqual([0, 0, 0]);
  });

  it("leaves links out unless asked", async () => {
    const { manifest } = await syncAssets({
      target: memoryTarget(),
      files: { "/index.html": VITE_PAGE },
      logger: memoryLogger(),
    });
    expect(manifest.links).toBeUndefined();
  });
});
