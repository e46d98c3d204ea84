// Deploy after deploy with Vite: a page from the previous build still loads its lazy chunk, and public/_headers and public/_redirects apply.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOCS_HEADERS, DOCS_REDIRECTS } from "../../runtime/test/wsa-examples.js";
import { appConfig, appWorker, fixtures, runWorker, viteBuild, writeFiles } from "./build.js";

const ns = "00000000000000000000000000000d01";

// The documentation's examples, as a user would copy them into public/, and a rule of this app's.
const HEADERS = `${DOCS_HEADERS}\n/assets/*\n  X-From-Headers: yes\n`;
const REDIRECTS = `${DOCS_REDIRECTS}/old-page / 301\n`;

const WORKER = appWorker('{ runWorkerFirst: ["/api/*"] }');

let root: string;

async function build(): Promise<void> {
  const result = await viteBuild(root);
  expect(result.output).not.toMatch(/error/i);
  expect(result.code).toBe(0);
}

// The lazy chunk a built page would load: named in the entry script Vite emitted.
async function lazyChunk(): Promise<{ path: string; body: string }> {
  const html = await readFile(join(root, "dist", "client", "index.html"), "utf8");
  const entry = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
  const code = await readFile(join(root, "dist", "client", entry), "utf8");
  const name = /["'`](?:\.\/|\/assets\/)(lazy-[\w-]+\.js)["'`]/.exec(code)![1]!;
  return {
    path: `/assets/${name}`,
    body: await readFile(join(root, "dist", "client", "assets", name), "utf8"),
  };
}

beforeAll(async () => {
  // Inside the repository, so the config resolves the workspace's packages.
  root = await mkdtemp(join(fixtures, "deploy-"));
  await writeFiles(root, {
    "index.html":
      '<!doctype html><h1>deploys</h1><script type="module" src="/src/main.ts"></script>',
    "src/main.ts": 'import("./lazy").then((m) => document.body.append(m.text));\n',
    "src/lazy.ts": 'export const text = "first";\n',
    "public/_headers": HEADERS,
    "public/_redirects": REDIRECTS,
    "public/secure/page.html": "<p>secure</p>",
    "public/static/data.txt": "static",
    "src/worker.ts": WORKER,
    ...appConfig("deploys", ns),
  });
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("a second vite build", () => {
  it("still serves the lazy chunk the first build's page asks for, with the documentation's public/_headers and public/_redirects applied", async () => {
    await build();
    const before = await lazyChunk();
    await writeFiles(root, { "src/lazy.ts": 'export const text = "second";\n' });
    await build();
    const after = await lazyChunk();
    expect(after.path).not.toBe(before.path);

    const mf = runWorker(root, "dist/worker/index.js", ns);
    try {
      const old = await mf.dispatchFetch(`http://localhost${before.path}`);
      expect(old.status).toBe(200);
      expect(await old.text()).toBe(before.body);
      expect(old.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
      expect(old.headers.get("X-From-Headers")).toBe("yes");
      const current = await mf.dispatchFetch(`http://localhost${after.path}`);
      expect(await current.text()).toBe(after.body);
      const moved = await mf.dispatchFetch("http://localhost/old-page", { redirect: "manual" });
      expect(moved.status).toBe(301);
      expect(moved.headers.get("Location")).toBe("/");
      // Early Hints, on in the plugin: the page's entry script, read from the built page.
      const html = await readFile(join(root, "dist", "client", "index.html"), "utf8");
      const entry = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
      const home = await mf.dispatchFetch("http://localhost/");
      expect(home.headers.get("Link")).toContain(`<${entry}>; rel=modulepreload`);
      await home.text();
      const secure = await mf.dispatchFetch("http://localhost/secure/page");
      expect(secure.headers.get("X-Frame-Options")).toBe("DENY");
      expect(secure.headers.get("Referrer-Policy")).toBe("no-referrer");
      await secure.text();
      const preview = await mf.dispatchFetch("https://myproject.pages.dev/static/data.txt");
      expect(preview.headers.get("X-Robots-Tag")).toBe("nosnippet, noindex");
      expect(preview.headers.get("Access-Control-Allow-Origin")).toBe("*");
      await preview.text();
      for (const [path, status, location] of [
        ["/home302?a=1", 302, "/?a=1"],
        ["/querystrings?lost=1", 301, "/?query=string"],
        ["/twitch", 302, "https://twitch.tv/"],
        ["/page/", 301, "/page2/#fragment"],
        ["/blog/2024/post", 302, "https://blog.my.domain/2024/post"],
        ["/products/42/socks", 302, "/products?code=42&name=socks"],
      ] as const) {
        const answer = await mf.dispatchFetch(`http://localhost${path}`, { redirect: "manual" });
        expect([path, answer.status, answer.headers.get("Location")]).toEqual([
          path,
          status,
          location,
        ]);
      }
      const headersFile = await mf.dispatchFetch("http://localhost/_headers");
      expect(headersFile.status).toBe(404);
      await headersFile.text();
    } finally {
      await mf.dispose();
    }
  });
});
