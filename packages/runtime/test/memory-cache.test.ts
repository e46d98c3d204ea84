// The in-isolate cache of small bodies: hot files with no storage read, every HTTP behaviour kept, and never over its budget.
import { env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { createAssetHandler, type AssetManifest } from "../src/index.js";
import { createMemoryCache } from "../src/memory-cache.js";
import { counting, seed } from "./fixture.js";

const css = "body { color: teal }\n".repeat(100);
let manifest: AssetManifest;

beforeAll(async () => {
  manifest = await seed(env.ASSETS, {
    "/style.css": {
      body: css,
      type: "text/css; charset=utf-8",
      variants: { br: "BR-OF-CSS", gzip: "GZIP-OF-CSS" },
    },
    "/big.bin": { body: new Uint8Array(300 * 1024).fill(7), type: "application/octet-stream" },
  });
});

function handlerWith(options = {}) {
  const storage = counting(env.ASSETS);
  return { storage, handler: createAssetHandler(manifest, storage, options) };
}

const get = (path: string, headers: Record<string, string> = {}, method = "GET") =>
  new Request(`https://memory.example${path}`, { method, headers });

describe("memoryCache", () => {
  it("answers a small file from memory after the first read: 200, ranges, HEAD and each variant", async () => {
    const { storage, handler } = handlerWith();
    expect(await (await handler(get("/style.css")))!.text()).toBe(css);
    const br = await handler(get("/style.css", { "Accept-Encoding": "br" }));
    expect(await br!.text()).toBe("BR-OF-CSS");
    const reads = storage.reads.length;
    expect(reads).toBe(2);

    const whole = await handler(get("/style.css"));
    expect(whole!.headers.get("Content-Length")).toBe(String(css.length));
    expect(await whole!.text()).toBe(css);
    const range = await handler(get("/style.css", { Range: "bytes=5-9" }));
    expect(range!.status).toBe(206);
    expect(range!.headers.get("Content-Range")).toBe(`bytes 5-9/${css.length}`);
    expect(await range!.text()).toBe(css.slice(5, 10));
    const again = await handler(get("/style.css", { "Accept-Encoding": "br" }));
    expect(again!.headers.get("Content-Encoding")).toBe("br");
    expect(await again!.text()).toBe("BR-OF-CSS");
    const head = await handler(get("/style.css", {}, "HEAD"));
    expect(head!.headers.get("Content-Length")).toBe(String(css.length));
    const etag = whole!.headers.get("ETag")!;
    expect((await handler(get("/style.css", { "If-None-Match": etag })))!.status).toBe(304);
    expect(storage.reads.length).toBe(reads);
  });

  it("reads a file over maxFileSize from storage every time", async () => {
    const { storage, handler } = handlerWith();
    for (let i = 0; i < 2; i++) await (await handler(get("/big.bin")))!.arrayBuffer();
    expect(storage.reads).toHaveLength(2);
  });

  it("reads from storage every time with memoryCache: false", async () => {
    const { storage, handler } = handlerWith({ memoryCache: false });
    for (let i = 0; i < 2; i++) await (await handler(get("/style.css")))!.text();
    expect(storage.reads).toHaveLength(2);
  });

  it("shares one budget between handlers of one storage", async () => {
    const storage = counting(env.ASSETS);
    const first = createAssetHandler(manifest, storage);
    const second = createAssetHandler(manifest, storage);
    await (await first(get("/style.css")))!.text();
    await (await second(get("/style.css")))!.text();
    expect(storage.reads).toHaveLength(1);
  });
});

describe("createMemoryCache", () => {
  it("never holds more than its budget, and keeps the most recently used", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 30 }), fc.nat({ max: 400 }), fc.boolean()), {
          maxLength: 300,
        }),
        (operations) => {
          const cache = createMemoryCache(1000, 300);
          let lastSet: string | undefined;
          for (const [id, size, isGet] of operations) {
            const key = `k${id}`;
            if (isGet) {
              cache.get(key);
              continue;
            }
            cache.set(key, new Uint8Array(size));
            if (size <= 300) lastSet = key;
            expect(cache.bytes).toBeLessThanOrEqual(1000);
          }
          if (lastSet !== undefined) expect(cache.get(lastSet)).toBeDefined();
        },
      ),
      { numRuns: 500 },
    );
  });

  it("drops the least recently used first", () => {
    const cache = createMemoryCache(30, 10);
    for (const key of ["a", "b", "c"]) cache.set(key, new Uint8Array(10));
    cache.get("a");
    cache.set("d", new Uint8Array(10));
    expect(["a", "b", "c", "d"].map((k) => cache.get(k) !== undefined)).toEqual([
      true,
      false,
      true,
      true,
    ]);
  });
});
