import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { soak } from "../../bench/soak-lib.js";
import { buildPlayground, root, startWrangler } from "./server.js";

const CHROMIUM = "/usr/bin/chromium";
const LARGE_SIZE = 26 * 1024 * 1024 + 12345;
const KV_LIMIT = 25 * 1024 * 1024;

let server: Awaited<ReturnType<typeof startWrangler>>;
let buildLog: string;
let assets: string[];

beforeAll(async () => {
  buildLog = await buildPlayground();
  assets = (await readdir(join(root, "dist", "client", "assets"))).map((f) => `/assets/${f}`);
  server = await startWrangler();
});

afterAll(async () => {
  await server?.stop();
});

function get(
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<Response> {
  return fetch(`${server.url}${path}`, { method, headers, redirect: "manual" });
}

function asset(pattern: RegExp): string {
  const found = assets.find((a) => pattern.test(a));
  if (!found) throw new Error(`no built asset matches ${pattern}: ${assets.join(", ")}`);
  return found;
}

describe("the playground under wrangler dev", () => {
  it("reports the sync in the build output", () => {
    expect(buildLog).toMatch(
      /\[kv-assets\] 15 files, \d+ new .* manifest published to local KV "ASSETS"/,
    );
    expect(buildLog).toMatch(/_headers: 2 header rules/);
    expect(buildLog).toMatch(/_redirects: 2 redirect rules/);
  });

  it.each([
    ["/", "text/html; charset=utf-8", "public, max-age=0, must-revalidate"],
    ["/about/", "text/html; charset=utf-8", "public, max-age=0, must-revalidate"],
    ["/robots.txt", "text/plain; charset=utf-8", "public, max-age=0, must-revalidate"],
    [
      "/.well-known/security.txt",
      "text/plain; charset=utf-8",
      "public, max-age=0, must-revalidate",
    ],
    ["/data.json", "application/json; charset=utf-8", "public, max-age=0, must-revalidate"],
    ["/files/read%20me.txt", "text/plain; charset=utf-8", "public, max-age=0, must-revalidate"],
    ["/files/caf%C3%A9.txt", "text/plain; charset=utf-8", "public, max-age=0, must-revalidate"],
    ["/favicon.ico", "image/x-icon", "public, max-age=0, must-revalidate"],
    ["JS", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"],
    ["CSS", "text/css; charset=utf-8", "public, max-age=31536000, immutable"],
    ["PNG", "image/png", "public, max-age=31536000, immutable"],
    ["SVG", "image/svg+xml; charset=utf-8", "public, max-age=31536000, immutable"],
    ["TTF", "font/ttf", "public, max-age=31536000, immutable"],
  ])("serves %s as %s with Cache-Control %s", async (which, type, cacheControl) => {
    const kinds: Record<string, RegExp> = {
      JS: /\.js$/,
      CSS: /\.css$/,
      PNG: /\.png$/,
      SVG: /\.svg$/,
      TTF: /\.ttf$/,
    };
    const path = kinds[which] ? asset(kinds[which]) : which;
    const response = await get(path, { "Accept-Encoding": "identity" });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe(type);
    expect(response.headers.get("Cache-Control")).toBe(cacheControl);
    expect(response.headers.get("ETag")).toMatch(/^"[0-9a-f]{16}"$/);
    expect(response.headers.get("Last-Modified")).toMatch(/GMT$/);
    expect(response.headers.get("Accept-Ranges")).toBe("bytes");
    const body = new Uint8Array(await response.arrayBuffer());
    const onDisk = await readFile(
      join(
        root,
        "dist",
        "client",
        decodeURIComponent(
          path === "/" ? "/index.html" : path.endsWith("/") ? `${path}index.html` : path,
        ),
      ),
    );
    expect(body).toEqual(new Uint8Array(onDisk));
  });

  it("answers HEAD with the length and no body", async () => {
    const response = await get("/robots.txt", {}, "HEAD");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Length")).toBe(
      String((await readFile(join(root, "public", "robots.txt"))).length),
    );
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });

  it("revalidates with ETag and with Last-Modified as 304", async () => {
    const first = await get("/data.json");
    await first.arrayBuffer();
    const byEtag = await get("/data.json", { "If-None-Match": first.headers.get("ETag")! });
    expect(byEtag.status).toBe(304);
    const byDate = await get("/data.json", {
      "If-Modified-Since": first.headers.get("Last-Modified")!,
    });
    expect(byDate.status).toBe(304);
  });

  it("serves a range of the large file across the boundary between its stored parts", async () => {
    const head = await get("/large.bin", {}, "HEAD");
    expect(head.headers.get("Content-Length")).toBe(String(LARGE_SIZE));
    const response = await get("/large.bin", { Range: `bytes=${KV_LIMIT - 100}-${KV_LIMIT + 99}` });
    expect(response.status).toBe(206);
    expect(response.headers.get("Content-Range")).toBe(
      `bytes ${KV_LIMIT - 100}-${KV_LIMIT + 99}/${LARGE_SIZE}`,
    );
    const body = new Uint8Array(await response.arrayBuffer());
    const onDisk = await readFile(join(root, "dist", "client", "large.bin"));
    expect(body).toEqual(new Uint8Array(onDisk.subarray(KV_LIMIT - 100, KV_LIMIT + 100)));
  });

  it("sends the whole large file in order", async () => {
    const response = await get("/large.bin");
    const body = new Uint8Array(await response.arrayBuffer());
    expect(body.byteLength).toBe(LARGE_SIZE);
    const onDisk = await readFile(join(root, "dist", "client", "large.bin"));
    expect(Buffer.compare(Buffer.from(body), onDisk)).toBe(0);
  });

  it.each([
    ["br", brotliDecompressSync],
    ["gzip", gunzipSync],
  ] as const)("sends a %s variant that decodes to the original bytes", async (encoding, decode) => {
    const path = asset(/\.ttf$/);
    const response = await get(path, { "Accept-Encoding": encoding });
    expect(response.headers.get("Content-Encoding")).toBe(encoding);
    expect(response.headers.get("Vary")).toBe("Accept-Encoding");
    // fetch() decodes by itself; what arrived must be the original font either way.
    const body = Buffer.from(await response.arrayBuffer());
    const original = await readFile(join(root, "dist", "client", path));
    const decoded = body.length === original.length ? body : decode(body);
    expect(Buffer.compare(decoded, original)).toBe(0);
  });

  it("answers a missing page with the 404 page and status 404", async () => {
    const response = await get("/no/such/page", { "Sec-Fetch-Mode": "navigate" });
    expect(response.status).toBe(404);
    expect(await response.text()).toMatch(/playground's 404.html/);
  });

  it("answers a fetch() of a missing file with the 404 page too, and an unknown API route from the app", async () => {
    const file = await get("/missing.js", { "Sec-Fetch-Mode": "no-cors" });
    expect(file.status).toBe(404);
    expect(await file.text()).toMatch(/playground's 404.html/);
    const route = await get("/api/nothing", { "Sec-Fetch-Mode": "navigate" });
    expect(route.status).toBe(404);
    expect(await route.json()).toEqual({ error: "no such route" });
  });

  it("applies public/_headers to files, 304s and the 404 page", async () => {
    const file = await get("/files/read%20me.txt");
    expect(file.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(file.headers.get("X-Robots-Tag")).toBe("noindex");
    const again = await get("/files/read%20me.txt", {
      "If-None-Match": file.headers.get("ETag") as string,
    });
    expect(again.status).toBe(304);
    expect(again.headers.get("X-Robots-Tag")).toBe("noindex");
    const missing = await get("/no/such/page");
    expect(missing.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(missing.headers.get("X-Robots-Tag")).toBeNull();
    await Promise.all([file.text(), missing.text()]);
  });

  it.each([
    ["/docs", 301, "/about/"],
    ["/blog/2024/hello?utm=x", 302, "/about/?from=2024/hello"],
  ])("redirects %s by public/_redirects with %i to %s", async (path, status, location) => {
    const response = await get(path);
    expect(response.status).toBe(status);
    expect(response.headers.get("Location")).toBe(location);
  });

  it("never publishes _headers or _redirects as files", async () => {
    expect((await get("/_headers")).status).toBe(404);
    expect((await get("/_redirects")).status).toBe(404);
  });

  it("redirects /about to /about/ with 307", async () => {
    const response = await get("/about");
    expect(response.status).toBe(307);
    expect(response.headers.get("Location")).toBe("/about/");
  });

  it("answers the API route from the Worker", async () => {
    const response = await get("/api/hello");
    expect(await response.json()).toEqual({ message: "Hello from the Worker.", files: 15 });
  });
});

describe("a short soak (npm run soak runs the long one)", () => {
  it("serves a steady mix of requests for 5 s without one error", async () => {
    const report = await soak(server.url, { seconds: 5, rate: 60, wranglerPid: server.pid });
    expect([...report.failures]).toEqual([]);
    expect(report.requests).toBeGreaterThan(150);
  });
});

describe("rebuilding with one file changed", () => {
  it("uploads only that content, keeps the other validators, and serves the new version", async () => {
    const before = await Promise.all(
      ["/", "/robots.txt", "/large.bin"].map((p) => get(p, {}, "HEAD")),
    );
    const data = join(root, "public", "data.json");
    const original = await readFile(data, "utf8");
    try {
      await writeFile(data, original.replace("served from Workers KV", `changed at ${Date.now()}`));
      const log = await buildPlayground();
      expect(log).toMatch(/\[kv-assets\] 15 files, 1 new \([\d.]+ B in 1 keys\), 14 unchanged/);
      const deadline = Date.now() + 60_000;
      let text = "";
      while (Date.now() < deadline) {
        text = await (await get("/data.json")).text();
        if (text.includes("changed at")) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(text).toContain("changed at");
      const after = await Promise.all(
        ["/", "/robots.txt", "/large.bin"].map((p) => get(p, {}, "HEAD")),
      );
      for (const [i, response] of after.entries()) {
        expect(response.headers.get("ETag")).toBe(before[i]!.headers.get("ETag"));
        expect(response.headers.get("Last-Modified")).toBe(before[i]!.headers.get("Last-Modified"));
      }
    } finally {
      await writeFile(data, original);
    }
  });
});

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  if (process.env.CI)
    throw new Error(`${CHROMIUM} is missing; CI installs it with apt-get install chromium`);
  console.warn(
    `[kv-assets] browser test skipped: ${CHROMIUM} not found (install it with: apt-get install chromium)`,
  );
}

describe.skipIf(!hasChromium)("the playground in headless Chromium", () => {
  it("runs the script, applies the stylesheet, loads the font and images, caches fingerprinted assets and follows a link", async () => {
    const { chromium } = await import("playwright-core");
    const userDataDir = join(root, "test-results", "chromium-profile");
    await mkdir(join(root, "test-results"), { recursive: true });
    const context = await chromium.launchPersistentContext(`${userDataDir}-${Date.now()}`, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
      ],
    });
    try {
      const page = await context.newPage();
      const failures: string[] = [];
      page.on("requestfailed", (request) => {
        // Chromium reports the table's revalidations, answered 304 to a no-store fetch, as aborted.
        if (request.resourceType() === "fetch" && request.headers()["if-none-match"]) return;
        failures.push(`${request.url()} ${request.failure()?.errorText}`);
      });
      page.on("response", (response) => {
        // The page asks for a missing page on purpose, to show its 404.
        if (response.status() >= 400 && new URL(response.url()).pathname !== "/missing")
          failures.push(`${response.url()} ${response.status()}`);
      });

      await page.goto(server.url, { waitUntil: "load" });
      await expect.poll(() => page.textContent("#status")).toBe("The script ran.");
      await expect.poll(() => page.textContent("#api")).toBe("Hello from the Worker.");
      expect(await page.evaluate(() => getComputedStyle(document.querySelector("h1")!).color)).toBe(
        "rgb(102, 51, 153)",
      );
      const fontLoaded = await page.evaluate(async () => {
        await document.fonts.ready;
        return (
          document.fonts.check('16px "Playground Sans"') &&
          [...document.fonts].some((f) => f.status === "loaded")
        );
      });
      expect(fontLoaded).toBe(true);
      const images = await page.evaluate(() =>
        ["#logo", "#gradient"].map((s) => {
          const img = document.querySelector<HTMLImageElement>(s)!;
          return img.complete && img.naturalWidth > 0;
        }),
      );
      expect(images).toEqual([true, true]);

      // The page shows what each file got, and that asking again with its ETag got a 304.
      await page.waitForSelector('#responses tbody[data-done="true"]');
      const rows = await page.$$eval("#responses tbody tr", (trs) =>
        trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")),
      );
      const row = (label: string): string[] => rows.find((r) => r[0] === label) ?? [];
      const revalidating: [string, string][] = [
        ["the page", "public, max-age=0, must-revalidate"],
        ["data.json", "public, max-age=0, must-revalidate"],
        ["a file with a space", "public, max-age=0, must-revalidate"],
        ["its stylesheet", "public, max-age=31536000, immutable"],
        ["its script", "public, max-age=31536000, immutable"],
        ["the logo", "public, max-age=31536000, immutable"],
      ];
      for (const [label, cacheControl] of revalidating) {
        expect(row(label), label).toEqual([
          label,
          "200",
          expect.any(String),
          cacheControl,
          expect.stringMatching(/^"[0-9a-f]{16}"$/),
          "304, no storage read",
        ]);
      }
      expect(row("1 KiB of large.bin")[1]).toBe(`206 (bytes 0-1023/${LARGE_SIZE})`);
      expect(row("a missing page")[1]).toBe("404");
      await page.screenshot({ path: join(root, "test-results", "playground.png"), fullPage: true });

      await page.reload({ waitUntil: "load" });
      // Let the page finish asking for its files before leaving it, or the browser aborts them.
      await page.waitForSelector('#responses tbody[data-done="true"]');
      const fingerprinted = await page.evaluate(() =>
        performance
          .getEntriesByType("resource")
          .map((e) => e as PerformanceResourceTiming & { responseStatus?: number })
          // The page's own loads, not the fetches its table makes with cache: "no-store".
          .filter((e) => e.initiatorType !== "fetch")
          .filter((e) => new URL(e.name).pathname.startsWith("/assets/"))
          .map((e) => ({ name: e.name, cached: e.transferSize === 0 || e.responseStatus === 304 })),
      );
      expect(fingerprinted.length).toBeGreaterThan(0);
      for (const entry of fingerprinted) expect(entry, entry.name).toMatchObject({ cached: true });

      // The 404 page has the site's look.
      await page.goto(`${server.url}/missing`, { waitUntil: "load" });
      expect(await page.textContent("#not-found")).toBe("Not found");
      expect(await page.evaluate(() => getComputedStyle(document.querySelector("h1")!).color)).toBe(
        "rgb(102, 51, 153)",
      );
      await page.goto(server.url, { waitUntil: "load" });
      await page.waitForSelector('#responses tbody[data-done="true"]');

      await page.click("#about-link");
      await page.waitForURL(`${server.url}/about/`);
      expect(await page.textContent("#about-title")).toBe("About");
      await expect.poll(() => page.textContent("#status")).toBe("The script ran.");
      expect(failures).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
