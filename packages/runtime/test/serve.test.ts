import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it, vi } from "vitest";
import {
  createAssetHandler,
  serveAsset,
  type AssetManifest,
  type ManifestSource,
  type PackedManifest,
  type AssetStorage,
  type RequestContext,
  type ServeAssetOptions,
} from "../src/index.js";
import { packManifest } from "../src/packed.js";
import { counting, parseMultipart, seed } from "./fixture.js";

const LAST_MODIFIED_HTTP = "Tue, 02 Jan 2024 03:04:05 GMT";
const big = new Uint8Array(300).map((_, i) => i % 251);
/** A file large enough for several ranges in one multipart answer to be smaller than it. */
const huge = new Uint8Array(4000).map((_, i) => (i * 7) % 253);
const html = "<!doctype html><title>home</title>";

let manifest: AssetManifest;
let inParts: AssetManifest;
let form: (manifest: AssetManifest) => ManifestSource = (m) => m;
let host = "example.com";
const packedForms = new WeakMap<AssetManifest, PackedManifest>();
/** The packed form of a manifest, the same object each time, as a compiled-in manifest is. */
const packed = (m: AssetManifest): PackedManifest => {
  if (!packedForms.has(m)) packedForms.set(m, packManifest(m));
  return packedForms.get(m)!;
};

beforeAll(async () => {
  manifest = await seed(env.ASSETS, {
    "/index.html": { body: html, type: "text/html; charset=utf-8" },
    "/about/index.html": { body: "<p>about</p>", type: "text/html; charset=utf-8" },
    "/docs/guide.html": { body: "<p>guide</p>", type: "text/html; charset=utf-8" },
    "/404.html": { body: "<p>root 404</p>", type: "text/html; charset=utf-8" },
    "/docs/404.html": { body: "<p>docs 404</p>", type: "text/html; charset=utf-8" },
    "/assets/app-4f3a2b1c.js": {
      body: "console.log(1)",
      type: "text/javascript; charset=utf-8",
      immutable: true,
    },
    "/styles.css": {
      body: "body{color:red}".repeat(20),
      type: "text/css; charset=utf-8",
      variants: { br: "BR-BYTES", gzip: "GZIP-BYTES" },
    },
    "/big.bin": { body: big, type: "application/octet-stream" },
    "/huge.bin": { body: huge, type: "application/octet-stream" },
    "/a file.txt": { body: "spaces" },
    "/café.txt": { body: "unicode" },
    "/.well-known/security.txt": { body: "Contact: mailto:security@example.com" },
    "/empty.txt": { body: "" },
  });
  inParts = await seed(
    env.ASSETS,
    {
      "/large.bin": { body: big, type: "application/octet-stream" },
      "/huge.bin": { body: huge, type: "application/octet-stream" },
    },
    { chunk: 64 },
  );
  await env.ASSETS.put("test-manifest", JSON.stringify(manifest));
});

function get(path: string, headers: Record<string, string> = {}, method = "GET"): Request {
  return new Request(`https://${host}${path}`, { method, headers });
}

async function serve(
  request: Request,
  options: ServeAssetOptions = {},
  using: AssetManifest = manifest,
  ctx?: RequestContext,
): Promise<{ response: Response | null; reads: string[] }> {
  const storage = counting(env.ASSETS);
  const response = await serveAsset(request, form(using), storage, options, ctx);
  return { response, reads: storage.reads };
}

async function bytes(response: Response | null): Promise<Uint8Array> {
  return new Uint8Array(await (response as Response).arrayBuffer());
}

// Every behaviour holds for a manifest as JSON (loaded, or built by hand) and in the packed form
// the Vite plugin compiles in.
// Each form has its own host, so what one wrote to the Cache API is not there for the other.
describe.each([
  ["a JSON manifest", (m: AssetManifest): ManifestSource => m, "json.example"],
  ["a packed manifest", packed, "packed.example"],
])("over %s", (_, formOf, hostOf) => {
  beforeAll(() => {
    form = formOf;
    host = hostOf;
  });

  describe("methods", () => {
    it.each(["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])(
      "resolves null for %s",
      async (method) => {
        const { response, reads } = await serve(get("/index.html", {}, method));
        expect(response).toBeNull();
        expect(reads).toEqual([]);
      },
    );

    it("answers HEAD with the GET headers, no body and zero storage reads", async () => {
      const { response, reads } = await serve(get("/big.bin", {}, "HEAD"));
      expect(response?.status).toBe(200);
      expect(response?.headers.get("Content-Length")).toBe("300");
      expect(response?.headers.get("ETag")).toMatch(/^"[0-9a-f]{16}"$/);
      expect(response?.body).toBeNull();
      expect(reads).toEqual([]);
    });
  });

  describe("headers of a 200", () => {
    it("sets Content-Type, Content-Length, ETag, Last-Modified, Accept-Ranges and revalidating Cache-Control", async () => {
      const { response, reads } = await serve(get("/"));
      expect(response?.status).toBe(200);
      expect(Object.fromEntries(response!.headers)).toMatchObject({
        "content-type": "text/html; charset=utf-8",
        "content-length": String(html.length),
        "last-modified": LAST_MODIFIED_HTTP,
        "accept-ranges": "bytes",
        "cache-control": "public, max-age=0, must-revalidate",
      });
      expect(await response!.text()).toBe(html);
      expect(reads).toHaveLength(1);
    });

    it("marks fingerprinted files immutable for a year", async () => {
      const { response } = await serve(get("/assets/app-4f3a2b1c.js"));
      expect(response?.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    });

    it("lets the cacheControl option override Cache-Control per path", async () => {
      const cacheControl = (asset: { path: string }): string | undefined =>
        asset.path.endsWith(".css") ? "public, max-age=60" : undefined;
      const css = await serve(get("/styles.css"), { cacheControl });
      const js = await serve(get("/assets/app-4f3a2b1c.js"), { cacheControl });
      expect(css.response?.headers.get("Cache-Control")).toBe("public, max-age=60");
      expect(js.response?.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    });

    it("serves an empty file with Content-Length 0", async () => {
      const { response } = await serve(get("/empty.txt"));
      expect(response?.status).toBe(200);
      expect(response?.headers.get("Content-Length")).toBe("0");
      expect(await response?.text()).toBe("");
    });
  });

  describe("path resolution", () => {
    it.each([
      ["/a%20file.txt", "spaces"],
      ["/caf%C3%A9.txt", "unicode"],
      ["/.well-known/security.txt", "Contact: mailto:security@example.com"],
      ["/index.html?x=1#frag", null],
      ["/styles.css?v=123", "body{color:red}".repeat(20)],
    ])("serves %s", async (path, body) => {
      const { response } = await serve(get(path));
      if (body === null) {
        expect(response?.status).toBe(307);
      } else {
        expect(response?.status).toBe(200);
        expect(await response?.text()).toBe(body);
      }
    });

    it.each([
      "/%2e%2e/%2e%2e/etc/passwd",
      "/..%2fetc%2fpasswd",
      "/a%00.txt",
      "/%E0%A4%A",
      "/assets%5Capp-4f3a2b1c.js",
      "/__proto__",
      "/constructor",
      "/toString",
      "/hasOwnProperty/",
      "/" + "a".repeat(10000),
    ])("never throws and never leaves the manifest for %s", async (path) => {
      const { response, reads } = await serve(get(path));
      expect(response).toBeNull();
      expect(reads).toEqual([]);
    });

    it("collapses // so that //evil.example cannot become a protocol-relative redirect", async () => {
      const { response } = await serve(get("//about"));
      expect(response?.status).toBe(307);
      expect(response?.headers.get("Location")).toBe("/about/");
    });
  });

  describe("htmlHandling", () => {
    it.each([
      ["auto-trailing-slash", "/about", 307, "/about/"],
      ["auto-trailing-slash", "/about/index.html", 307, "/about/"],
      ["auto-trailing-slash", "/docs/guide.html", 307, "/docs/guide"],
      ["auto-trailing-slash", "/docs/guide", 200, null],
      ["force-trailing-slash", "/docs/guide", 307, "/docs/guide/"],
      ["drop-trailing-slash", "/about/", 307, "/about"],
      ["drop-trailing-slash", "/about", 200, null],
      ["none", "/about/", null, null],
      ["none", "/about/index.html", 200, null],
    ] as const)("with %s answers %s with %s", async (htmlHandling, path, status, location) => {
      const { response, reads } = await serve(get(path), { htmlHandling });
      expect(response?.status ?? null).toBe(status);
      if (location) {
        expect(response?.headers.get("Location")).toBe(location);
        expect(reads).toEqual([]);
      }
    });

    it("keeps the query string on a redirect", async () => {
      const { response } = await serve(get("/about?utm=x"));
      expect(response?.headers.get("Location")).toBe("/about/?utm=x");
    });

    it("never emits a Location that starts with //", async () => {
      const { response } = await serve(get("//about/index.html"));
      expect(response?.headers.get("Location")).toBe("/about/");
    });
  });

  describe("notFoundHandling", () => {
    it("resolves null by default", async () => {
      expect((await serve(get("/missing"))).response).toBeNull();
    });

    const navigate = { "Sec-Fetch-Mode": "navigate" };

    it("serves the nearest 404.html up the tree with status 404 to a navigation", async () => {
      const deep = await serve(get("/docs/a/b/missing", navigate), {
        notFoundHandling: "404-page",
      });
      expect(deep.response?.status).toBe(404);
      expect(await deep.response?.text()).toBe("<p>docs 404</p>");
      const root = await serve(get("/nothing/here", navigate), { notFoundHandling: "404-page" });
      expect(root.response?.status).toBe(404);
      expect(await root.response?.text()).toBe("<p>root 404</p>");
    });

    it("serves the 404 page for hostile paths too", async () => {
      const { response } = await serve(get("/%2e%2e/secret", navigate), {
        notFoundHandling: "404-page",
      });
      expect(response?.status).toBe(404);
      expect(await response?.text()).toBe("<p>root 404</p>");
    });

    it.each([
      ["a fetch() to /api/users", "/api/users", { "Sec-Fetch-Mode": "cors", Accept: "*/*" }],
      ["a script request to /missing.js", "/missing.js", { "Sec-Fetch-Mode": "no-cors" }],
      ["curl with no headers", "/api/users", {}],
    ])("as 404-page leaves %s to the app", async (_, path, headers) => {
      const { response } = await serve(get(path, headers), { notFoundHandling: "404-page" });
      expect(response).toBeNull();
    });

    it.each([
      ["404-page", 404, "<p>root 404</p>"],
      ["single-page-application", 200, html],
    ] as const)(
      "as %s with notFoundFor all answers a fetch() miss too",
      async (mode, status, body) => {
        const { response } = await serve(get("/api/users", { "Sec-Fetch-Mode": "cors" }), {
          notFoundHandling: mode,
          notFoundFor: "all",
        });
        expect(response?.status).toBe(status);
        expect(await response?.text()).toBe(body);
      },
    );

    it.each([
      ["Sec-Fetch-Mode: navigate", { "Sec-Fetch-Mode": "navigate" }, 200],
      [
        "Accept: text/html without Sec-Fetch-Mode",
        { Accept: "text/html,application/xhtml+xml" },
        200,
      ],
      ["Sec-Fetch-Mode: no-cors", { "Sec-Fetch-Mode": "no-cors", Accept: "text/html" }, null],
      ["Accept: */*", { Accept: "*/*" }, null],
    ])("as a single-page application answers a miss with %s", async (_, headers, status) => {
      const { response } = await serve(get("/app/route", headers), {
        notFoundHandling: "single-page-application",
      });
      expect(response?.status ?? null).toBe(status);
      if (status) expect(await response?.text()).toBe(html);
    });

    it("as a single-page application never serves index.html for a script request to /missing.js", async () => {
      const { response } = await serve(
        get("/missing.js", { Accept: "*/*", "Sec-Fetch-Mode": "no-cors" }),
        {
          notFoundHandling: "single-page-application",
        },
      );
      expect(response).toBeNull();
    });
  });

  describe("conditional requests", () => {
    async function etagOf(path: string): Promise<string> {
      return (await serve(get(path, {}, "HEAD"))).response!.headers.get("ETag")!;
    }

    it("returns 304 with validators, Cache-Control, no body and zero reads when If-None-Match lists the ETag", async () => {
      const etag = await etagOf("/");
      const { response, reads } = await serve(get("/", { "If-None-Match": `"nope", ${etag}` }));
      expect(response?.status).toBe(304);
      expect(response?.headers.get("ETag")).toBe(etag);
      expect(response?.headers.get("Last-Modified")).toBe(LAST_MODIFIED_HTTP);
      expect(response?.headers.get("Cache-Control")).toBe("public, max-age=0, must-revalidate");
      expect(response?.body).toBeNull();
      expect(reads).toEqual([]);
    });

    it("returns 304 when If-None-Match lists the ETag after an empty member", async () => {
      const etag = await etagOf("/");
      const { response } = await serve(get("/", { "If-None-Match": `"x",, ${etag}` }));
      expect(response?.status).toBe(304);
    });

    it("returns 412 unless If-Match lists the ETag, empty members or not", async () => {
      const etag = await etagOf("/");
      expect((await serve(get("/", { "If-Match": `, "x" ,,${etag}` }))).response?.status).toBe(200);
      expect((await serve(get("/", { "If-Match": `"x",, "y"` }))).response?.status).toBe(412);
    });

    it("returns 304 when If-None-Match lists the weak form of the ETag", async () => {
      const etag = await etagOf("/");
      const { response } = await serve(get("/", { "If-None-Match": `W/${etag}` }));
      expect(response?.status).toBe(304);
    });

    it("returns 304 for If-Modified-Since at Last-Modified with zero reads", async () => {
      const { response, reads } = await serve(
        get("/", { "If-Modified-Since": LAST_MODIFIED_HTTP }),
      );
      expect(response?.status).toBe(304);
      expect(reads).toEqual([]);
    });

    it("ignores If-Modified-Since when If-None-Match does not match", async () => {
      const { response } = await serve(
        get("/", { "If-None-Match": '"old"', "If-Modified-Since": LAST_MODIFIED_HTTP }),
      );
      expect(response?.status).toBe(200);
    });

    it("returns 412 for an If-Match that does not match and for an old If-Unmodified-Since", async () => {
      expect((await serve(get("/", { "If-Match": '"old"' }))).response?.status).toBe(412);
      expect(
        (await serve(get("/", { "If-Unmodified-Since": "Mon, 01 Jan 2024 00:00:00 GMT" }))).response
          ?.status,
      ).toBe(412);
    });

    it("returns 304 for HEAD too", async () => {
      const etag = await etagOf("/big.bin");
      const { response, reads } = await serve(get("/big.bin", { "If-None-Match": etag }, "HEAD"));
      expect(response?.status).toBe(304);
      expect(reads).toEqual([]);
    });
  });

  describe("ranges", () => {
    it.each([
      ["bytes=0-9", 0, 9],
      ["bytes=290-", 290, 299],
      ["bytes=-5", 295, 299],
      ["bytes=250-1000", 250, 299],
    ])("answers %s with 206 and the right bytes", async (range, start, end) => {
      const { response } = await serve(get("/big.bin", { Range: range }));
      expect(response?.status).toBe(206);
      expect(response?.headers.get("Content-Range")).toBe(`bytes ${start}-${end}/300`);
      expect(response?.headers.get("Content-Length")).toBe(String(end - start + 1));
      expect(await bytes(response)).toEqual(big.slice(start, end + 1));
    });

    it("answers an unsatisfiable range with 416 and Content-Range: bytes */SIZE", async () => {
      const { response, reads } = await serve(get("/big.bin", { Range: "bytes=300-" }));
      expect(response?.status).toBe(416);
      expect(response?.headers.get("Content-Range")).toBe("bytes */300");
      expect(reads).toEqual([]);
    });

    it.each(["bytes=5-2", "items=0-1", "bytes=x"])(
      "answers malformed %s with the full 200",
      async (range) => {
        const { response } = await serve(get("/big.bin", { Range: range }));
        expect(response?.status).toBe(200);
        expect((await bytes(response)).byteLength).toBe(300);
      },
    );

    it("answers disjoint ranges with one multipart/byteranges 206 whose parts are the bytes asked for", async () => {
      const { response } = await serve(get("/huge.bin", { Range: "bytes=0-1,2000-2009,-5" }));
      expect(response?.status).toBe(206);
      const body = await bytes(response);
      expect(response?.headers.get("Content-Length")).toBe(String(body.byteLength));
      expect(response?.headers.get("Content-Range")).toBeNull();
      const type = "application/octet-stream";
      expect(parseMultipart(response!.headers.get("Content-Type")!, body)).toEqual([
        { type, range: "bytes 0-1/4000", bytes: huge.slice(0, 2) },
        { type, range: "bytes 2000-2009/4000", bytes: huge.slice(2000, 2010) },
        { type, range: "bytes 3995-3999/4000", bytes: huge.slice(3995) },
      ]);
    });

    it.each([
      ["overlapping ranges", "bytes=0-99,0-99,50-149", "bytes 0-149/300"],
      ["ranges closer than a part's header", "bytes=0-9,40-49", "bytes 0-49/300"],
    ])("joins %s into one 206", async (_, range, contentRange) => {
      const { response } = await serve(get("/big.bin", { Range: range }));
      expect(response?.status).toBe(206);
      expect(response?.headers.get("Content-Range")).toBe(contentRange);
    });

    it.each([
      ["more than 16 parts", Array.from({ length: 17 }, (_, i) => `${i * 200}-${i * 200}`)],
      ["parts that with their headers outweigh the file", ["0-1999", "2100-3999"]],
    ])("sends the whole body for %s", async (_, specs) => {
      const { response } = await serve(get("/huge.bin", { Range: `bytes=${specs.join(",")}` }));
      expect(response?.status).toBe(200);
      expect((await bytes(response)).byteLength).toBe(4000);
    });

    it("reads only the stored parts multipart ranges touch", async () => {
      const { response, reads } = await serve(
        get("/huge.bin", { Range: "bytes=1-2,3000-3005" }),
        {},
        inParts,
      );
      const parts = parseMultipart(response!.headers.get("Content-Type")!, await bytes(response));
      expect(parts.map((p) => p.bytes)).toEqual([huge.slice(1, 3), huge.slice(3000, 3006)]);
      // 3000-3005 lies in part 46 of the 64-byte parts (bytes 2944-3007).
      expect(reads.map((k) => k.split(".")[1])).toEqual(["0", "46"]);
    });

    it("honours If-Range with the current ETag or Last-Modified and sends 200 otherwise", async () => {
      const etag = (await serve(get("/big.bin", {}, "HEAD"))).response!.headers.get("ETag")!;
      expect(
        (await serve(get("/big.bin", { Range: "bytes=0-1", "If-Range": etag }))).response?.status,
      ).toBe(206);
      expect(
        (await serve(get("/big.bin", { Range: "bytes=0-1", "If-Range": LAST_MODIFIED_HTTP })))
          .response?.status,
      ).toBe(206);
      expect(
        (await serve(get("/big.bin", { Range: "bytes=0-1", "If-Range": '"old"' }))).response
          ?.status,
      ).toBe(200);
    });

    it("ignores Range on HEAD", async () => {
      const { response } = await serve(get("/big.bin", { Range: "bytes=0-1" }, "HEAD"));
      expect(response?.status).toBe(200);
      expect(response?.headers.get("Content-Length")).toBe("300");
    });

    it("sends ranges of the identity body even when the client accepts br", async () => {
      const { response } = await serve(
        get("/styles.css", { Range: "bytes=0-3", "Accept-Encoding": "br" }),
      );
      expect(response?.status).toBe(206);
      expect(response?.headers.get("Content-Encoding")).toBeNull();
      expect(await response?.text()).toBe("body");
    });
  });

  describe("values stored in parts", () => {
    it("streams every part back in order", async () => {
      const { response, reads } = await serve(get("/large.bin"), {}, inParts);
      expect(response?.headers.get("Content-Length")).toBe("300");
      expect(await bytes(response)).toEqual(big);
      expect(reads).toHaveLength(5);
    });

    it.each([
      ["the whole body", {}],
      ["a range", { Range: "bytes=10-250" }],
    ])("logs nothing when the client goes away in the middle of %s", async (_, headers) => {
      const errors = vi.spyOn(console, "error").mockImplementation(() => {});
      try {
        const { response } = await serve(get("/large.bin", headers), {}, inParts);
        const reader = response!.body!.getReader();
        await reader.read();
        await reader.cancel(new Error("Network connection lost."));
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(errors).not.toHaveBeenCalled();
      } finally {
        errors.mockRestore();
      }
    });

    it("reads only the parts a range touches, across a part boundary", async () => {
      const { response, reads } = await serve(
        get("/large.bin", { Range: "bytes=60-70" }),
        {},
        inParts,
      );
      expect(response?.status).toBe(206);
      expect(await bytes(response)).toEqual(big.slice(60, 71));
      expect(reads.map((k) => k.split(".")[1])).toEqual(["0", "1"]);
    });
  });

  describe("precompressed variants", () => {
    it("sends br to a client that accepts it, with its own ETag and length and Vary", async () => {
      const { response } = await serve(get("/styles.css", { "Accept-Encoding": "gzip, br" }));
      expect(response?.headers.get("Content-Encoding")).toBe("br");
      expect(response?.headers.get("Content-Length")).toBe("8");
      expect(response?.headers.get("Vary")).toBe("Accept-Encoding");
      expect(await response?.text()).toBe("BR-BYTES");
    });

    it("prefers the client's real Accept-Encoding from request.cf over the rewritten header", async () => {
      const request = new Request("https://example.com/styles.css", {
        headers: { "Accept-Encoding": "br" },
        cf: { clientAcceptEncoding: "gzip" },
      } as RequestInit);
      const { response } = await serve(request);
      expect(response?.headers.get("Content-Encoding")).toBe("gzip");
      expect(await response?.text()).toBe("GZIP-BYTES");
    });

    it("sends identity without reading request.cf when the header admits no variant", async () => {
      const request = new Request(`https://${host}/styles.css`, {
        headers: { "Accept-Encoding": "identity" },
      });
      let read = false;
      Object.defineProperty(request, "cf", {
        get: () => ((read = true), { clientAcceptEncoding: "br" }),
      });
      const { response } = await serve(request);
      expect(response?.headers.get("Content-Encoding")).toBeNull();
      expect(response?.headers.get("Vary")).toBe("Accept-Encoding");
      expect(read).toBe(false);
      await response?.arrayBuffer();
    });

    it("sends identity with Vary when br and gzip have q=0", async () => {
      const { response } = await serve(
        get("/styles.css", { "Accept-Encoding": "br;q=0, gzip;q=0" }),
      );
      expect(response?.headers.get("Content-Encoding")).toBeNull();
      expect(response?.headers.get("Vary")).toBe("Accept-Encoding");
      expect(await response?.text()).toBe("body{color:red}".repeat(20));
    });

    it("answers a revalidation of the br variant with 304 and no reads", async () => {
      const first = await serve(get("/styles.css", { "Accept-Encoding": "br" }));
      const etag = first.response!.headers.get("ETag")!;
      const identity = (await serve(get("/styles.css"))).response!.headers.get("ETag");
      expect(etag).not.toBe(identity);
      const again = await serve(
        get("/styles.css", { "Accept-Encoding": "br", "If-None-Match": etag }),
      );
      expect(again.response?.status).toBe(304);
      expect(again.reads).toEqual([]);
    });
  });

  describe("storage inconsistency", () => {
    it("answers 503 and logs the missing key when the manifest names a key storage lacks", async () => {
      const broken: AssetManifest = { ...manifest, prefix: "gone/" };
      const { response } = await serve(get("/"), {}, broken);
      expect(response?.status).toBe(503);
      expect(response?.headers.get("Cache-Control")).toBe("no-store");
    });

    it("answers 503 when storage throws", async () => {
      const failing = {
        get: () => Promise.reject(new Error("KV GET failed: 500")),
      } as AssetStorage;
      const response = await serveAsset(get("/"), form(manifest), failing);
      expect(response?.status).toBe(503);
    });

    it("sends a stored value whose size differs from the manifest's whole, never cut to the manifest's size", async () => {
      // Over HTTP, workerd frames a KV stream by the value's own length (see bench:runtime).
      const key = `${manifest.prefix}${manifest.files["/a file.txt"]![0]}`;
      await env.ASSETS.put(key, "spaces and more");
      try {
        const { response } = await serve(get("/a%20file.txt"));
        expect(response?.status).toBe(200);
        expect(await response?.text()).toBe("spaces and more");
      } finally {
        await env.ASSETS.put(key, "spaces");
      }
    });

    it("answers 503 when one part of a inParts value is missing", async () => {
      const key = `${inParts.prefix}${inParts.files["/large.bin"]![0]}.2`;
      const saved = await env.ASSETS.get(key, "arrayBuffer");
      await env.ASSETS.delete(key);
      try {
        const { response } = await serve(get("/large.bin"), {}, inParts);
        expect(response?.status).toBe(503);
      } finally {
        await env.ASSETS.put(key, saved!);
      }
    });
  });

  describe("edgeCache", () => {
    it("serves a whole body from the Cache API after the first read", async () => {
      const waits: Promise<unknown>[] = [];
      const ctx = { waitUntil: (p: Promise<unknown>) => void waits.push(p) };
      const options: ServeAssetOptions = { edgeCache: true };
      const first = await serve(get("/docs/guide"), options, manifest, ctx);
      expect(await first.response?.text()).toBe("<p>guide</p>");
      await Promise.all(waits);
      const second = await serve(get("/docs/guide"), options, manifest, ctx);
      expect(await second.response?.text()).toBe("<p>guide</p>");
      expect(first.reads).toHaveLength(1);
      expect(second.reads).toEqual([]);
    });

    it("answers a range from the Cache API once the body is cached", async () => {
      const waits: Promise<unknown>[] = [];
      const ctx = { waitUntil: (p: Promise<unknown>) => void waits.push(p) };
      const options: ServeAssetOptions = { edgeCache: true };
      const first = await serve(get("/big.bin", { Range: "bytes=5-9" }), options, manifest, ctx);
      expect(first.response?.status).toBe(206);
      expect(await bytes(first.response)).toEqual(big.slice(5, 10));
      await Promise.all(waits);
      const second = await serve(
        get("/big.bin", { Range: "bytes=100-109" }),
        options,
        manifest,
        ctx,
      );
      expect(second.response?.status).toBe(206);
      expect(second.response?.headers.get("Content-Range")).toBe("bytes 100-109/300");
      expect(await bytes(second.response)).toEqual(big.slice(100, 110));
      expect(first.reads).toHaveLength(1);
      expect(second.reads).toEqual([]);
    });

    it("answers a range of a value stored in parts from the Cache API once its parts are cached", async () => {
      const waits: Promise<unknown>[] = [];
      const ctx = { waitUntil: (p: Promise<unknown>) => void waits.push(p) };
      const options: ServeAssetOptions = { edgeCache: true };
      // Parts of 64 bytes: bytes 100-209 span parts 1 to 3.
      const first = await serve(
        get("/large.bin", { Range: "bytes=100-209" }),
        options,
        inParts,
        ctx,
      );
      expect(first.response?.status).toBe(206);
      expect(await bytes(first.response)).toEqual(big.slice(100, 210));
      expect(first.reads).toHaveLength(3);
      await Promise.all(waits);
      const second = await serve(
        get("/large.bin", { Range: "bytes=130-200" }),
        options,
        inParts,
        ctx,
      );
      expect(second.response?.headers.get("Content-Range")).toBe("bytes 130-200/300");
      expect(await bytes(second.response)).toEqual(big.slice(130, 201));
      expect(second.reads).toEqual([]);
    });

    it("throws at setup when cacheTtl is under KV's minimum of 30 seconds", () => {
      expect(() => serveAsset(get("/"), manifest, env.ASSETS, { cacheTtl: 0 })).toThrow(
        /cacheTtl must be at least 30 seconds, KV's minimum \(got 0\)/,
      );
    });

    it("serves from storage, saying so once, when a request comes without its ctx", async () => {
      const errors = vi.spyOn(console, "error").mockImplementation(() => {});
      try {
        const handler = createAssetHandler(form(manifest), env.ASSETS, { edgeCache: true });
        const first = await handler(get("/docs/guide"));
        const second = await handler(get("/docs/guide"));
        expect(await first?.text()).toBe("<p>guide</p>");
        expect(await second?.text()).toBe("<p>guide</p>");
        expect(errors).toHaveBeenCalledTimes(1);
        expect(String(errors.mock.calls[0]![0])).toMatch(/edgeCache needs each request's ctx/);
      } finally {
        errors.mockRestore();
      }
    });
  });
});

describe("through a Worker (SELF.fetch)", () => {
  it("serves the home page over the Worker's fetch handler", async () => {
    const response = await SELF.fetch("https://example.com/");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Length")).toBe(String(html.length));
    expect(await response.text()).toBe(html);
  });

  it("leaves other routes to the app", async () => {
    const response = await SELF.fetch("https://example.com/api/hello");
    expect(await response.json()).toEqual({ hello: "world" });
  });

  it("answers a page load that misses with the 404 page", async () => {
    const response = await SELF.fetch("https://example.com/nope", {
      headers: { "Sec-Fetch-Mode": "navigate" },
    });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("<p>root 404</p>");
  });

  it("leaves a fetch() that misses to the app", async () => {
    const response = await SELF.fetch("https://example.com/nope", {
      headers: { "Sec-Fetch-Mode": "cors" },
    });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("Not found");
  });

  it("sends a range of the big file", async () => {
    const response = await SELF.fetch("https://example.com/big.bin", {
      headers: { Range: "bytes=10-19" },
    });
    expect(response.status).toBe(206);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(big.slice(10, 20));
  });
});
