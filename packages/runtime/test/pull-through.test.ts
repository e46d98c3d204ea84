// Pull-through caching from a local origin Worker into real KV.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { createPullThrough, type PullThroughOptions } from "../src/index.js";

let run = 0;

/** A handler over a fresh key prefix, recording the URLs it asked the origin for. */
function setup(options: Partial<PullThroughOptions> = {}) {
  const ctx = createExecutionContext();
  const fetched: string[] = [];
  const prefix = `pull-${++run}/`;
  const handle = createPullThrough({
    origin: "https://origin.example/bucket",
    kv: env.ASSETS,
    fetch: (request) => {
      fetched.push(request.url);
      return env.ORIGIN.fetch(request);
    },
    prefix,
    ...options,
  });
  const get = (path: string, headers: Record<string, string> = {}, method = "GET") =>
    handle(new Request(`https://site.example${path}`, { headers, method }), ctx);
  return { get, fetched, prefix, settle: () => waitOnExecutionContext(ctx) };
}

describe("createPullThrough", () => {
  it("answers from the origin and keeps no copy, saying so once, when a request comes without its ctx", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const fetched: string[] = [];
      const handle = createPullThrough({
        origin: "https://origin.example/bucket",
        kv: env.ASSETS,
        prefix: `pull-${++run}/`,
        fetch: (request) => (fetched.push(request.url), env.ORIGIN.fetch(request)),
      });
      for (let i = 0; i < 2; i++) {
        const response = await handle(new Request("https://site.example/photos/cat.txt"));
        expect(await response?.text()).toBe("a cat");
      }
      expect(fetched).toHaveLength(2);
      expect(errors).toHaveBeenCalledTimes(1);
      expect(String(errors.mock.calls[0]![0])).toMatch(/pull-through needs each request's ctx/);
    } finally {
      errors.mockRestore();
    }
  });

  it("streams a miss from the origin and serves the next request from KV", async () => {
    const { get, fetched, settle } = setup();
    const first = await get("/photos/cat.txt");
    expect(first?.status).toBe(200);
    expect(first?.headers.get("ETag")).toBe('"cat-v1"');
    expect(first?.headers.get("Last-Modified")).toBe("Tue, 02 Jan 2024 03:04:05 GMT");
    expect(first?.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
    expect(await first?.text()).toBe("a cat");
    await settle();

    const second = await get("/photos/cat.txt");
    expect(await second?.text()).toBe("a cat");
    expect(second?.headers.get("ETag")).toBe('"cat-v1"');
    expect(second?.headers.get("Content-Length")).toBe("5");
    expect(fetched).toEqual(["https://origin.example/bucket/photos/cat.txt"]);
  });

  it("stores the copy with expirationTtl", async () => {
    const { get, prefix, settle } = setup({ expirationTtl: 120 });
    await (await get("/photos/cat.txt"))?.text();
    await settle();
    const { keys } = await env.ASSETS.list({ prefix });
    expect(keys).toHaveLength(1);
    const expiration = keys[0]?.expiration as number;
    expect(expiration - Date.now() / 1000).toBeGreaterThan(100);
    expect(expiration - Date.now() / 1000).toBeLessThanOrEqual(120);
  });

  describe("from a stored copy", () => {
    async function stored(path: string, options: Partial<PullThroughOptions> = {}) {
      const s = setup(options);
      await (await s.get(path))?.text();
      await s.settle();
      return s;
    }

    it("answers If-None-Match with 304 and no origin request", async () => {
      const { get, fetched } = await stored("/photos/cat.txt");
      const response = await get("/photos/cat.txt", { "If-None-Match": '"cat-v1"' });
      expect(response?.status).toBe(304);
      expect(fetched).toHaveLength(1);
    });

    it("answers If-Modified-Since with 304", async () => {
      const { get } = await stored("/photos/cat.txt");
      const response = await get("/photos/cat.txt", {
        "If-Modified-Since": "Tue, 02 Jan 2024 03:04:05 GMT",
      });
      expect(response?.status).toBe(304);
    });

    it("answers a range with 206", async () => {
      const { get } = await stored("/photos/cat.txt");
      const response = await get("/photos/cat.txt", { Range: "bytes=2-4" });
      expect(response?.status).toBe(206);
      expect(response?.headers.get("Content-Range")).toBe("bytes 2-4/5");
      expect(await response?.text()).toBe("cat");
    });

    it("answers HEAD with the length and no body", async () => {
      const { get } = await stored("/photos/cat.txt");
      const response = await get("/photos/cat.txt", {}, "HEAD");
      expect(response?.status).toBe(200);
      expect(response?.headers.get("Content-Length")).toBe("5");
      expect(await response?.text()).toBe("");
    });

    it("makes up a strong ETag when the origin sent none", async () => {
      const { get, fetched } = await stored("/photos/no-validators.txt");
      const response = await get("/photos/no-validators.txt");
      expect(response?.headers.get("ETag")).toMatch(/^"[0-9a-f]{32}"$/);
      expect(response?.headers.get("Last-Modified")).not.toBeNull();
      expect(await response?.text()).toBe("plain");
      expect(fetched).toHaveLength(1);
    });

    it("keeps a weak ETag weak: it revalidates but cannot satisfy If-Range", async () => {
      const { get } = await stored("/photos/weak.txt");
      expect((await get("/photos/weak.txt", { "If-None-Match": 'W/"weak-1"' }))?.status).toBe(304);
      const ranged = await get("/photos/weak.txt", {
        Range: "bytes=0-3",
        "If-Range": 'W/"weak-1"',
      });
      expect(ranged?.status).toBe(200);
      expect(await ranged?.text()).toBe("weak tag");
    });

    it("keeps a body whose length the origin did not send", async () => {
      const { get, fetched } = await stored("/chunked.txt");
      expect(await (await get("/chunked.txt"))?.text()).toBe("part0;part1;part2;");
      expect(fetched).toHaveLength(1);
    });
  });

  it("answers a range asked on a miss from the copy", async () => {
    const { get } = setup();
    const response = await get("/photos/cat.txt", { Range: "bytes=-3" });
    expect(response?.status).toBe(206);
    expect(await response?.text()).toBe("cat");
  });

  it.each([
    ["Cache-Control: private", "/private.txt", "mine"],
    ["Cache-Control: no-store", "/no-store.txt", "fresh"],
    ["Set-Cookie", "/cookie.txt", "tracked"],
    ["Vary: User-Agent", "/vary.txt", "varies"],
  ])("never keeps a response with %s", async (_, path, body) => {
    const { get, fetched, prefix, settle } = setup();
    expect(await (await get(path))?.text()).toBe(body);
    await settle();
    expect(await (await get(path))?.text()).toBe(body);
    expect(fetched).toHaveLength(2);
    expect((await env.ASSETS.list({ prefix })).keys).toHaveLength(0);
  });

  it("passes an origin 404 through without keeping it", async () => {
    const { get, fetched, settle } = setup();
    expect((await get("/nothing-here.txt"))?.status).toBe(404);
    await settle();
    expect((await get("/nothing-here.txt"))?.status).toBe(404);
    expect(fetched).toHaveLength(2);
  });

  it.each([
    ["with a Content-Length", "/big.txt", 3000],
    ["without a Content-Length", "/big-chunked.txt", 9000],
  ])("streams a body over maxSize %s whole, without keeping it", async (_, path, size) => {
    const { get, prefix, settle } = setup({ maxSize: 1000 });
    const response = await get(path);
    expect((await response?.text())?.length).toBe(size);
    await settle();
    expect((await env.ASSETS.list({ prefix })).keys).toHaveLength(0);
  });

  it("fetches once from the origin for concurrent misses of one path", async () => {
    const { get, fetched, settle } = setup();
    const responses = await Promise.all(Array.from({ length: 6 }, () => get("/slow.txt")));
    const bodies = await Promise.all(responses.map((r) => r?.text()));
    expect(bodies).toEqual(Array(6).fill("slow body"));
    expect(fetched).toHaveLength(1);
    await settle();
  });

  it("encodes file names for the origin: /photos/a%20file%20(1).txt", async () => {
    const { get, fetched } = setup();
    expect(await (await get("/photos/a%20file%20(1).txt"))?.text()).toBe("spaces");
    expect(fetched).toEqual(["https://origin.example/bucket/photos/a%20file%20(1).txt"]);
  });

  it.each([
    "//evil.example/x",
    "/%2F%2Fevil.example/x",
    "/@evil.example/x",
    "/%40evil.example/x",
    "/..%2f..%2fadmin",
    "/%2e%2e/%2e%2e/admin",
    "/x%5c..%5c..%5cadmin",
    "/http:%2F%2Fevil.example/",
    "/?url=https://evil.example/",
    "/a#@evil.example",
    "/%00/x",
  ])("never steers the origin request elsewhere: %s", async (path) => {
    const { get, fetched } = setup();
    const response = await get(path);
    await response?.text();
    for (const url of fetched) {
      const parsed = new URL(url);
      expect(parsed.origin).toBe("https://origin.example");
      expect(parsed.pathname.startsWith("/bucket/")).toBe(true);
      expect(parsed.search).toBe("");
      expect(parsed.pathname).not.toMatch(/\/\.\.?(\/|$)/);
    }
  });

  it("resolves null for methods other than GET and HEAD", async () => {
    const { get, fetched } = setup();
    expect(await get("/photos/cat.txt", {}, "POST")).toBeNull();
    expect(fetched).toEqual([]);
  });

  it("answers 502 when the origin cannot be reached", async () => {
    const { get } = setup({ fetch: () => Promise.reject(new Error("connection refused")) });
    const error = console.error;
    console.error = () => {};
    try {
      expect((await get("/photos/cat.txt"))?.status).toBe(502);
    } finally {
      console.error = error;
    }
  });

  it.each([
    [{ origin: "bucket.example.com" }, /origin "bucket.example.com" is not a URL/],
    [{ origin: "ftp://bucket.example.com" }, /must be an http or https URL/],
    [{ origin: "https://bucket.example.com/?sig=1" }, /must not carry a query/],
    [
      { expirationTtl: 30 },
      /expirationTtl must be a whole number of seconds, at least 60 \(got 30\)/,
    ],
    [{ maxSize: 26214401 }, /maxSize must be between 0 and 26214400 bytes/],
  ])("refuses misconfiguration %j with a clear message", (options, message) => {
    expect(() => setup(options)).toThrow(message);
  });
});
