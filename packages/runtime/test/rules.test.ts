// `_headers`, `_redirects`, canonical URLs, runWorkerFirst and retained files, served in workerd from real KV.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { parseHeadersFile } from "../src/headers-file.js";
import { createAssetHandler, type AssetManifest, type ServeAssetOptions } from "../src/index.js";
import { packManifest } from "../src/packed.js";
import { parseRedirectsFile } from "../src/redirects-file.js";
import { seed } from "./fixture.js";
import { DOCS_HEADERS, DOCS_REDIRECTS } from "./wsa-examples.js";

const page = (text: string) => ({ body: `<p>${text}</p>`, type: "text/html; charset=utf-8" });

let manifest: AssetManifest;

beforeAll(async () => {
  manifest = await seed(env.ASSETS, {
    "/index.html": page("home"),
    "/404.html": page("not found"),
    "/secure/page.html": page("secure"),
    "/static/app.js": { body: "app()", type: "text/javascript; charset=utf-8" },
    "/movies/alien.html": page("alien"),
    "/users/profile.html": page("profile"),
    "/old.txt": { body: "old" },
    "/[boop].txt": { body: "boop" },
    "/file.bin": { body: "bin" },
    "/a b.txt": { body: "space" },
    "/api/docs/index.html": page("api docs"),
  });
});

function handler(options: ServeAssetOptions = {}, using: AssetManifest = manifest) {
  return createAssetHandler(using, env.ASSETS, options);
}

function get(url: string, headers: Record<string, string> = {}): Request {
  return new Request(url.startsWith("http") ? url : `https://example.com${url}`, { headers });
}

describe("parseHeadersFile", () => {
  it("reads the documentation's example rule by rule", () => {
    const { rules, problems } = parseHeadersFile(DOCS_HEADERS);
    expect(problems).toEqual([]);
    expect(rules).toEqual([
      {
        path: "/secure/page",
        set: {
          "x-frame-options": "DENY",
          "x-content-type-options": "nosniff",
          "referrer-policy": "no-referrer",
        },
      },
      {
        path: "/static/*",
        set: { "access-control-allow-origin": "*", "x-robots-tag": "nosnippet" },
      },
      { path: "https://myproject.pages.dev/*", set: { "x-robots-tag": "noindex" } },
      { path: "/movies/:title", set: { "x-movie-name": 'You are watching ":title"' } },
    ]);
  });

  it("joins a repeated header and reads `! Name` as a removal", () => {
    const { rules } = parseHeadersFile("/*\n  Link: </a.css>\n  Link: </b.js>\n  ! X-Powered-By\n");
    expect(rules).toEqual([
      { path: "/*", set: { link: "</a.css>, </b.js>" }, unset: ["x-powered-by"] },
    ]);
  });

  it.each([
    ["a header before any path", "X-A: 1\n/a\n  X-B: 2", 1, "before any path"],
    ["a line with no colon", "/a\n  nonsense\n  X-B: 2", 2, "Name: value"],
    ["a header with no value", "/a\n  X-A:\n  X-B: 2", 2, "no value"],
    ["a name with a space", "/a\n  X A: 1\n  X-B: 2", 2, "not a header name"],
    ["two splats in a path", "/a/*/b/*\n  X-A: 1\n/b\n  X-B: 2", 1, "only one *"],
    ["a port in an absolute URL", "https://a.example:8443/*\n  X-A: 1\n/b\n  X-B: 2", 1, "port"],
    ["a path with no headers", "/a\n/b\n  X-B: 2", 1, "sets no header"],
    ["a Content-Length", "/a\n  Content-Length: 5\n  X-B: 2", 2, "frames each response"],
    ["removing Transfer-Encoding", "/a\n  ! Transfer-Encoding\n  X-B: 2", 2, "frames each"],
  ])("skips %s, naming its line", (_, text, line, message) => {
    const { rules, problems } = parseHeadersFile(text);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line });
    expect(problems[0]!.message).toContain(message);
    expect(rules.length).toBeGreaterThan(0);
  });

  it("is over its limits with 101 rules or a line of 2,001 characters", () => {
    const many = Array.from({ length: 101 }, (_, i) => `/p${i}\n  X-A: 1`).join("\n");
    expect(parseHeadersFile(many).overLimit).toContain("more than 100 rules");
    expect(parseHeadersFile(`/a\n  X-A: ${"a".repeat(2000)}`).overLimit).toContain("line 2");
    const hundred = Array.from({ length: 100 }, (_, i) => `/p${i}\n  X-A: 1`).join("\n");
    expect(parseHeadersFile(hundred).overLimit).toBeUndefined();
  });
});

describe("parseRedirectsFile", () => {
  it("reads the documentation's example, 302 by default", () => {
    const { rules, problems } = parseRedirectsFile(DOCS_REDIRECTS);
    expect(problems).toEqual([]);
    expect(rules.map((r) => `${r.from} ${r.to} ${r.status}`)).toEqual([
      "/home301 / 301",
      "/home302 / 302",
      "/querystrings /?query=string 301",
      "/twitch https://twitch.tv/ 302",
      "/trailing /trailing/path 301",
      "/notrailing/ /nottrailing/path 301",
      "/page/ /page2/#fragment 301",
      "/blog/* https://blog.my.domain/:splat 302",
      "/products/:code/:name /products?code=:code&name=:name 302",
    ]);
  });

  it.each([
    ["one field", "/a", "from to [status]"],
    ["four fields", "/a /b 301 extra", "from to [status]"],
    ["a status of 404", "/a /b 404", "status must be"],
    ["an absolute source", "https://a.example/x /b", "only paths"],
    ["a target that is neither a path nor https", "/a ftp://b.example", "expected a path"],
    ["a 200 to another site", "/a https://b.example/ 200", "only point to a path"],
    ["a placeholder in the target's host", "/go/:site https://:site/", "choose the site"],
    ["a rule matching its own target", "/docs/* /docs/v2/:splat 301", "would loop"],
    ["a page redirected to its .html file", "/about /about.html 301", "would loop"],
    ["a splat sent to an index page", "/* /index.html 200", "single-page"],
    ["a root redirected to its index", "/ /index.html 301", "would loop"],
  ])("skips %s", (_, line, message) => {
    const { rules, problems } = parseRedirectsFile(`${line}\n/kept /elsewhere`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 1, text: line });
    expect(problems[0]!.message).toContain(message);
    expect(rules.map((r) => r.from)).toEqual(["/kept"]);
  });

  it("skips a second rule for the same path and a chain that leads back", () => {
    const { rules, problems } = parseRedirectsFile("/a /b\n/a /c\n/b /a");
    expect(rules.map((r) => r.from)).toEqual(["/a"]);
    expect(problems.map((p) => [p.line, p.message.slice(0, 20)])).toEqual([
      [2, "an earlier rule alre"],
      [3, "would loop: earlier "],
    ]);
  });

  it("strips a comment after the rule but keeps a fragment", () => {
    const { rules } = parseRedirectsFile("/a /b#top 301 # moved in 2024");
    expect(rules).toEqual([{ from: "/a", to: "/b#top", status: 301 }]);
  });

  it("is over its limits past 2,000 static or 100 dynamic rules", () => {
    const statics = Array.from({ length: 2001 }, (_, i) => `/s${i} /t`).join("\n");
    expect(parseRedirectsFile(statics).overLimit).toContain("2000");
    const dynamics = Array.from({ length: 101 }, (_, i) => `/d${i}/* /t`).join("\n");
    expect(parseRedirectsFile(dynamics).overLimit).toContain("100");
    // A static-looking rule after the first dynamic one counts as dynamic, as its order matters.
    const after = ["/d/* /t", ...Array.from({ length: 100 }, (_, i) => `/s${i} /t`)].join("\n");
    expect(parseRedirectsFile(after).overLimit).toContain("100");
  });
});

describe("_headers when serving", () => {
  const withRules = (text: string, options: ServeAssetOptions = {}) =>
    handler({ headers: text, ...options });

  it("applies the documentation's rules by path, host and placeholder", async () => {
    const serve = withRules(DOCS_HEADERS);
    const secure = await serve(get("/secure/page"));
    expect(secure?.status).toBe(200);
    expect(secure?.headers.get("X-Frame-Options")).toBe("DENY");
    expect(secure?.headers.get("Referrer-Policy")).toBe("no-referrer");
    const script = await serve(get("/static/app.js"));
    expect(script?.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(script?.headers.get("X-Robots-Tag")).toBe("nosnippet");
    const preview = await serve(get("https://myproject.pages.dev:8443/static/app.js"));
    expect(preview?.headers.get("X-Robots-Tag")).toBe("nosnippet, noindex");
    const movie = await serve(get("/movies/alien"));
    expect(movie?.headers.get("x-movie-name")).toBe('You are watching "alien"');
  });

  it("replaces a header the handler set, and removes one with `!`", async () => {
    const serve = withRules(
      "/*\n  Cache-Control: public, max-age=60\n  X-Site: yes\n/static/*\n  ! X-Site\n  X-Site: static\n",
    );
    const response = await serve(get("/static/app.js"));
    expect(response?.headers.get("Cache-Control")).toBe("public, max-age=60");
    expect(response?.headers.get("X-Site")).toBe("static");
  });

  it("applies to a 304, a 206, a 404 page and a redirect too", async () => {
    const serve = withRules("/*\n  X-Site: yes\n", { notFoundHandling: "404-page" });
    const first = await serve(get("/old.txt"));
    const etag = first?.headers.get("ETag") as string;
    await first?.text();
    const answers = [
      await serve(get("/old.txt", { "If-None-Match": etag })),
      await serve(get("/old.txt", { Range: "bytes=0-0" })),
      await serve(get("/nothing", { "Sec-Fetch-Mode": "navigate" })),
      await serve(get("/index.html")),
    ];
    expect(answers.map((r) => [r?.status, r?.headers.get("X-Site")])).toEqual([
      [304, "yes"],
      [206, "yes"],
      [404, "yes"],
      [307, "yes"],
    ]);
    for (const answer of answers) await answer?.body?.cancel();
  });

  it("keeps the Content-Encoding and type a rule sets for a stored encoded body, its bytes as stored", async () => {
    const br = new Uint8Array([0x1b, 0x03, 0x00, 0xf8, 0xa5, 0x40, 0x0a]);
    const unity = await seed(env.ASSETS, {
      "/Build/game.wasm.br": { body: br, type: "application/octet-stream" },
    });
    const serve = createAssetHandler(unity, env.ASSETS, {
      headers: "/Build/*.wasm.br\n  Content-Encoding: br\n  Content-Type: application/wasm\n",
    });
    const response = await serve(get("/Build/game.wasm.br", { "Accept-Encoding": "br" }));
    expect(response?.headers.get("Content-Encoding")).toBe("br");
    expect(response?.headers.get("Content-Type")).toBe("application/wasm");
    expect(new Uint8Array(await response!.arrayBuffer())).toEqual(br);
  });

  it("leaves out a value a hostile placeholder would make invalid, and still answers", async () => {
    const serve = withRules("/movies/:title\n  X-Title: :title\n");
    const response = await serve(get("/movies/%0D%0Aset-cookie:%20a=b"));
    expect(response === null || response.headers.get("set-cookie") === null).toBe(true);
  });

  it("comes from the manifest with no option and no storage read", async () => {
    const withHeaders = { ...manifest, headers: parseHeadersFile("/old.txt\n  X-Old: 1\n").rules };
    const serve = handler({}, withHeaders);
    const response = await serve(get("/old.txt", { "If-None-Match": '"nothing"' }));
    expect(response?.headers.get("X-Old")).toBe("1");
    const packed = createAssetHandler(packManifest(withHeaders), env.ASSETS);
    expect((await packed(get("/old.txt")))?.headers.get("X-Old")).toBe("1");
  });
});

describe("_redirects when serving", () => {
  const serve = (request: Request) => handler({ redirects: DOCS_REDIRECTS })(request);

  it.each([
    ["/home301", 301, "/"],
    ["/home302?x=1", 302, "/?x=1"],
    ["/querystrings?lost=1", 301, "/?query=string"],
    ["/twitch", 302, "https://twitch.tv/"],
    ["/page/", 301, "/page2/#fragment"],
    ["/blog/2024/hello?ref=a", 302, "https://blog.my.domain/2024/hello?ref=a"],
    ["/products/42/socks", 302, "/products?code=42&name=socks"],
  ])("redirects %s with %i to %s", async (path, status, location) => {
    const response = await serve(get(path));
    expect(response?.status).toBe(status);
    expect(response?.headers.get("Location")).toBe(location);
  });

  it("redirects even where a file exists, and the first matching rule wins", async () => {
    const serve = handler({
      redirects: "/old.txt /new.txt 301\n/* https://elsewhere.example/ 302\n",
    });
    const response = await serve(get("/old.txt"));
    expect(response?.headers.get("Location")).toBe("/new.txt");
  });

  it("serves a 200 rewrite's file at the URL asked for", async () => {
    const serve = handler({ redirects: "/users/:id /users/profile.html 200\n" });
    const response = await serve(get("/users/42"));
    expect(response?.status).toBe(200);
    expect(await response?.text()).toBe("<p>profile</p>");
  });

  it.each([
    "/go//evil.example/x",
    "/go/%2F%2Fevil.example",
    "/go/%5C%5Cevil.example",
    "/go/\\\\evil.example",
  ])("keeps the Location of %s on this site", async (path) => {
    const serve = handler({ redirects: "/go/* /:splat 302\n" });
    const response = await serve(get(path));
    const location = response?.headers.get("Location") ?? "";
    expect(new URL(location, "https://example.com/").origin).toBe("https://example.com");
    expect(location).toMatch(/^\/[^/\\]/);
  });

  it("logs each bad line of a text given in code once, and throws for one over the limits", () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    handler({ redirects: "/a /b 404\n/c /d" });
    expect(log.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringContaining("_redirects:1: status must be"),
    ]);
    log.mockRestore();
    const many = Array.from({ length: 101 }, (_, i) => `/d${i}/* /t`).join("\n");
    expect(() => handler({ redirects: many })).toThrow(/over its limits/);
  });
});

describe("canonical URLs", () => {
  const serve = (request: Request) => handler()(request);

  it.each([
    ["/[boop].txt", "/%5Bboop%5D.txt"],
    ["/file%2ebin", "/file.bin"],
    ["/fil%65.bin?x=1", "/file.bin?x=1"],
    ["/a%20b.txt", null],
    ["/a b.txt", null],
    ["//old.txt", "/old.txt"],
  ])("sends %s to its one URL", async (path, location) => {
    const response = await serve(get(path));
    if (location === null) {
      expect(response?.status).toBe(200);
    } else {
      expect(response?.status).toBe(307);
      expect(response?.headers.get("Location")).toBe(location);
      const followed = await serve(get(location));
      expect(followed?.status).toBe(200);
    }
    await response?.body?.cancel();
  });

  it("serves every spelling as it is with htmlHandling none", async () => {
    const response = await handler({ htmlHandling: "none" })(get("/[boop].txt"));
    expect(response?.status).toBe(200);
  });
});

describe("runWorkerFirst", () => {
  const serve = (request: Request) =>
    handler({ runWorkerFirst: ["/api/*", "!/api/docs/*"], notFoundHandling: "404-page" })(request);

  it("leaves the app's paths to it, page loads and files included", async () => {
    expect(await serve(get("/api/users", { "Sec-Fetch-Mode": "navigate" }))).toBeNull();
  });

  it("serves what a ! pattern excludes, and answers every other miss with the 404 page", async () => {
    expect((await serve(get("/api/docs/")))?.status).toBe(200);
    const miss = await serve(get("/missing.js", { "Sec-Fetch-Mode": "no-cors" }));
    expect(miss?.status).toBe(404);
    expect(await miss?.text()).toBe("<p>not found</p>");
  });

  it.each([
    [["api/*"], 'must start with "/"'],
    [["!/api/docs/*"], "only"],
    [Array.from({ length: 101 }, (_, i) => `/p${i}`), "at most 100"],
  ])("refuses %j at setup", (patterns, message) => {
    expect(() => handler({ runWorkerFirst: patterns })).toThrow(message);
  });
});

describe("retained files", () => {
  it("serves a file an earlier deploy had until its time is up, and then nothing", async () => {
    const entry = manifest.files["/old.txt"]!;
    const now = Math.floor(Date.now() / 1000);
    const files = { ...manifest.files };
    delete files["/old.txt"];
    const later = (until: number): AssetManifest => ({
      ...manifest,
      files,
      retained: [{ until, files: { "/assets/old-AbCd1234.js": entry } }],
    });
    const kept = await handler({}, later(now + 60))(get("/assets/old-AbCd1234.js"));
    expect(kept?.status).toBe(200);
    expect(await kept?.text()).toBe("old");
    const packed = createAssetHandler(packManifest(later(now + 60)), env.ASSETS);
    expect((await packed(get("/assets/old-AbCd1234.js")))?.status).toBe(200);
    expect(await handler({}, later(now - 1))(get("/assets/old-AbCd1234.js"))).toBeNull();
  });
});

describe("Early Hints links", () => {
  const LINK = "</assets/app.js>; rel=modulepreload";
  const withLinks = (): AssetManifest => ({
    ...manifest,
    links: { values: [LINK], pages: { [manifest.files["/index.html"]![0]]: 0 } },
  });

  it("sends a page's Link with its 200 and 304, and not with a 404 page", async () => {
    const serve = handler({ notFoundHandling: "404-page" }, withLinks());
    const page = await serve(get("/"));
    expect(page?.headers.get("Link")).toBe(LINK);
    const again = await serve(get("/", { "If-None-Match": page!.headers.get("ETag")! }));
    expect(again?.status).toBe(304);
    expect(again?.headers.get("Link")).toBe(LINK);
    const missing = await serve(get("/nowhere", { "Sec-Fetch-Mode": "navigate" }));
    expect(missing?.status).toBe(404);
    expect(missing?.headers.get("Link")).toBeNull();
    await Promise.all([page?.text(), missing?.text()]);
  });

  it("keeps the page's Link when a _headers rule adds one", async () => {
    const serve = handler({ headers: "/\n  Link: </x.css>; rel=preload; as=style\n" }, withLinks());
    const page = await serve(get("/"));
    expect(page?.headers.get("Link")).toBe(`${LINK}, </x.css>; rel=preload; as=style`);
    await page?.text();
  });
});
