// Property-based tests: random paths and header combinations never make serveAsset throw or lie.
import { env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { decodePath } from "../src/path.js";
import { findPacked, packManifest, unpackManifest } from "../src/packed.js";
import {
  loadManifest,
  serveAsset,
  type ManifestEntry,
  type ManifestVariant,
  type AssetManifest,
  type HtmlHandling,
  type NotFoundHandling,
} from "../src/index.js";
import { splitUrl } from "../src/path.js";
import {
  counting,
  parseMultipart,
  publish,
  seed,
  sha256Of,
  toBytes,
  type FixtureFile,
} from "./fixture.js";

const big = new Uint8Array(700).map((_, i) => (i * 13) % 256);
const files_: Record<string, FixtureFile> = {
  "/index.html": { body: "<h1>home</h1>", type: "text/html; charset=utf-8" },
  "/about/index.html": { body: "<h1>about</h1>", type: "text/html; charset=utf-8" },
  "/docs/guide.html": {
    body: "<p>guide</p>",
    type: "text/html; charset=utf-8",
    alternates: ["md"],
  },
  "/404.html": { body: "<p>not found</p>", type: "text/html; charset=utf-8" },
  "/app.js": {
    body: "console.log('app')".repeat(30),
    type: "text/javascript; charset=utf-8",
    variants: { br: "BR".repeat(20), zstd: "ZS".repeat(25), gzip: "GZ".repeat(30) },
  },
  "/docs/guide.md": {
    body: "# guide",
    type: "text/markdown; charset=utf-8",
    variants: { br: "MD-BR" },
  },
  "/photo.jpg": { body: "J".repeat(90), type: "image/jpeg", alternates: ["avif", "webp"] },
  "/photo.avif": { body: "A".repeat(30), type: "image/avif" },
  "/photo.webp": { body: "W".repeat(60), type: "image/webp" },
  "/big.bin": { body: big, type: "application/octet-stream" },
  "/café.txt": { body: "unicode" },
  "/a b.txt": { body: "space" },
  "/empty.txt": { body: "" },
};
const files = files_;
let manifest: AssetManifest;
let inParts: AssetManifest;
const keys = new Set<string>();
/** Identity bytes of each file by its ETag, to check what a 206 sent. */
const byEtag = new Map<string, Uint8Array>();

beforeAll(async () => {
  manifest = await seed(env.ASSETS, files, { prefix: "prop/", digests: true });
  inParts = await seed(
    env.ASSETS,
    { "/big.bin": files["/big.bin"]! },
    { prefix: "prop-parts/", chunk: 100 },
  );
  for (const [file, entry] of Object.entries(manifest.files)) {
    byEtag.set(`"${entry[0]}"`, toBytes(files[file]!.body));
    const variants = Object.values(files[file]!.variants ?? {});
    for (const [i, variant] of (entry[5] ?? []).entries()) {
      byEtag.set(`"${variant[1]}"`, toBytes(variants[i]!));
    }
  }
  byEtag.set(`"${inParts.files["/big.bin"]![0]}"`, big);
  for (const m of [manifest, inParts]) {
    for (const [hash, size, , , , variants] of Object.values(m.files)) {
      keys.add(m.prefix + hash);
      for (let i = 0; i * m.chunk < size; i++) keys.add(`${m.prefix}${hash}.${i}`);
      for (const [, vhash] of variants ?? []) keys.add(m.prefix + vhash);
    }
  }
});

// Path segments: names that exist, dot segments, encoded separators, control bytes, unicode, junk.
const segment = fc.oneof(
  fc.constantFrom(
    "index.html",
    "about",
    "docs",
    "guide",
    "guide.html",
    "app.js",
    "big.bin",
    "404.html",
  ),
  fc.constantFrom(
    "",
    ".",
    "..",
    "%2e",
    "%2E%2e",
    "%2f",
    "%5c",
    "%00",
    "%0d%0a",
    "%",
    "%zz",
    "caf%C3%A9.txt",
    "a%20b.txt",
    "café.txt",
    "__proto__",
    "constructor",
  ),
  fc.string({ unit: "binary", maxLength: 12 }).map((s) => encodeURIComponent(s)),
  fc
    .uint8Array({ maxLength: 8 })
    .map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("")),
  fc.string({ unit: "grapheme", maxLength: 6 }),
);
const path = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "/",
      "/about",
      "/about/",
      "/docs/guide",
      "/app.js",
      "/big.bin",
      "/caf%C3%A9.txt",
      "/a%20b.txt",
      "/empty.txt",
    ),
  },
  fc.array(segment, { maxLength: 6 }).map((parts) => `/${parts.join("/")}`),
  {
    // Paths the rules of RULES match, with what a hostile client would put in their captures.
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom("/old", "/go/", "/to/", "/rw/", "/q/", "/api/", "/api/docs/"), segment)
      .map(([head, tail]) => (head === "/old" ? head : head + tail)),
  },
  fc.constant(`/${"a".repeat(5000)}`),
  fc.array(segment, { maxLength: 3 }).map((parts) => `//${parts.join("/")}`),
);

const token = fc.stringMatching(/^[!#-~]{0,24}$/); // printable ASCII without `"`, valid in a header
const etagLike = fc.oneof(
  token.map((t) => `"${t}"`),
  token.map((t) => `W/"${t}"`),
  fc.constant("*"),
  token,
);
const date = fc.oneof(
  fc
    .date({ min: new Date(0), max: new Date(4102444800000), noInvalidDate: true })
    .map((d) => d.toUTCString()),
  fc.constant("Tue, 02 Jan 2024 03:04:05 GMT"),
  token,
);
const rangeSpec = fc.oneof(
  // Short ranges, several of which far apart make a multipart/byteranges answer.
  { weight: 3, arbitrary: fc.nat(690).map((a) => `${a}-${a + 3}`) },
  fc.tuple(fc.nat(1000), fc.nat(1000)).map(([a, b]) => `${a}-${b}`),
  fc.nat(1000).map((a) => `${a}-`),
  fc.nat(1000).map((n) => `-${n}`),
  fc.constant("99999999999999999999-"),
  fc.integer({ min: 700, max: 100000 }).map((a) => `${a}-`),
  token,
);
/** Media ranges of the files' types and wildcards, with random q-values, as Accept lists them. */
const MEDIA_RANGES = [
  "text/html",
  "text/markdown",
  "text/*",
  "image/jpeg",
  "image/avif",
  "image/webp",
  "image/*",
  "*/*",
  "application/json",
];
const accept = fc
  .array(
    fc.tuple(
      fc.constantFrom(...MEDIA_RANGES),
      fc.option(fc.constantFrom("0", "0.001", "0.5", "0.9", "1", "1.0", "2", "x"), {
        nil: undefined,
      }),
    ),
    { maxLength: 5 },
  )
  .map((members) =>
    members.map(([range, q]) => (q === undefined ? range : `${range};q=${q}`)).join(", "),
  );
const headers = fc.record(
  {
    "If-None-Match": fc.oneof(
      etagLike,
      fc.array(etagLike, { maxLength: 3 }).map((t) => t.join(", ")),
    ),
    "If-Match": etagLike,
    "If-Modified-Since": date,
    "If-Unmodified-Since": date,
    Range: fc.oneof(
      fc.array(rangeSpec, { minLength: 1, maxLength: 4 }).map((r) => `bytes=${r.join(",")}`),
      token,
    ),
    "If-Range": fc.oneof(etagLike, date),
    "Accept-Encoding": fc.oneof(
      fc.constantFrom("br", "gzip", "br;q=0", "gzip;q=0.5, br;q=0.1", "*", "identity;q=0", "*;q=0"),
      token,
    ),
    Accept: fc.oneof(accept, token),
    "Sec-Fetch-Mode": fc.constantFrom("navigate", "cors", "no-cors"),
    "Want-Repr-Digest": fc.constantFrom("sha-256=1", "sha-256=0", "sha-512=3", "", "sha-256"),
    "Want-Content-Digest": fc.constantFrom("sha-256=1", "sha-256=0", "sha-512=3"),
  },
  { requiredKeys: [] },
);
const options = fc.record({
  htmlHandling: fc.constantFrom<HtmlHandling>(
    "auto-trailing-slash",
    "force-trailing-slash",
    "drop-trailing-slash",
    "none",
  ),
  notFoundHandling: fc.constantFrom<NotFoundHandling>(
    "none",
    "404-page",
    "single-page-application",
  ),
  rules: fc.boolean(),
});
const method = fc.constantFrom("GET", "HEAD", "POST", "OPTIONS");

// Rules whose targets and values take what the request put in a splat or placeholder.
const RULES = {
  headers: "/*\n  X-All: yes\n/:a/:b\n  X-Pair: :a-:b\n/docs/*\n  ! X-All\n  Link: </:splat>\n",
  redirects: [
    "/old /about/ 301",
    "/go/* /:splat 302",
    "/to/:x https://elsewhere.example/:x 308",
    "/rw/* /docs/guide.html 200",
    "/q/:x /?from=:x 303",
  ].join("\n"),
  runWorkerFirst: ["/api/*", "!/api/docs/*"],
};

/** Whether any check met a multipart/byteranges answer. */
let sawMultipart = false;

/** Serves `request` and checks every promise the handler makes; returns the status (or null). */
async function check(
  request: Request,
  using: AssetManifest,
  o: { htmlHandling: HtmlHandling; notFoundHandling: NotFoundHandling; rules?: boolean },
): Promise<number | null> {
  const storage = counting(env.ASSETS);
  const { rules, ...serveOptions } = o;
  const response = await serveAsset(request, using, storage, {
    ...serveOptions,
    ...(rules ? RULES : {}),
  });
  // Only keys the manifest names are ever read.
  for (const key of storage.reads) expect(keys.has(key), key).toBe(true);
  if (response === null) return null;
  expect([200, 206, 301, 302, 303, 304, 307, 308, 404, 412, 416]).toContain(response.status);
  const body = new Uint8Array(await response.arrayBuffer());
  const length = response.headers.get("Content-Length");
  if (request.method === "HEAD" || [301, 302, 303, 304, 307, 308, 412].includes(response.status)) {
    expect(body.byteLength).toBe(0);
  } else {
    expect(length).toBe(String(body.byteLength));
  }
  const multipart = (response.headers.get("Content-Type") ?? "").startsWith("multipart/byteranges");
  if (response.status === 206 && multipart) {
    sawMultipart = true;
    // Each part is the bytes its Content-Range names, and the parts never outweigh the file.
    const whole = byEtag.get(response.headers.get("ETag") ?? "")!;
    expect(whole).toBeDefined();
    if (request.method === "GET") {
      const parts = parseMultipart(response.headers.get("Content-Type")!, body);
      expect(parts.length).toBeGreaterThan(1);
      expect(body.byteLength).toBeLessThan(whole.byteLength);
      for (const part of parts) {
        const [start, end] = /^bytes (\d+)-(\d+)\/\d+$/.exec(part.range)!.slice(1).map(Number) as [
          number,
          number,
        ];
        expect(part.bytes).toEqual(whole.slice(start, end + 1));
      }
    }
  } else if (response.status === 206) {
    const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers.get("Content-Range") ?? "");
    expect(match).not.toBeNull();
    const [start, end, size] = match!.slice(1).map(Number) as [number, number, number];
    expect(end).toBeGreaterThanOrEqual(start);
    expect(end).toBeLessThan(size);
    if (request.method === "GET") {
      expect(body.byteLength).toBe(end - start + 1);
      const whole = byEtag.get(response.headers.get("ETag") ?? "");
      expect(whole?.byteLength).toBe(size);
      expect(body).toEqual(whole!.slice(start, end + 1));
    }
  }
  await checkDigests(request, response, body);
  if (response.status === 416) {
    expect(response.headers.get("Content-Range")).toMatch(/^bytes \*\/\d+$/);
  }
  if ([301, 302, 303, 307, 308].includes(response.status)) {
    // A redirect stays on the site, or goes only where a rule names a host.
    const location = response.headers.get("Location") ?? "";
    expect(location).not.toMatch(/[\r\n\\]/);
    if (location.startsWith("https://elsewhere.example/")) {
      expect(response.status).toBe(308);
    } else {
      expect(location).toMatch(/^\/(?!\/)/);
      expect(new URL(location, "https://site.example").origin).toBe("https://site.example");
    }
  }
  return response.status;
}

/**
 * Repr-Digest is the sha-256 of the whole representation the ETag names, Content-Digest of the
 * body sent; each only where the request's Want-* allowed it.
 */
async function checkDigests(request: Request, response: Response, body: Uint8Array) {
  const repr = response.headers.get("Repr-Digest");
  const content = response.headers.get("Content-Digest");
  const wantRepr = request.headers.get("Want-Repr-Digest");
  if (repr !== null) {
    expect(wantRepr === null || /sha-256=[1-9]/.test(wantRepr)).toBe(true);
    // A not-found page has no ETag: its body is the whole of it.
    const whole = response.status === 404 ? body : byEtag.get(response.headers.get("ETag") ?? "");
    expect(whole).toBeDefined();
    if (response.status !== 404 || request.method === "GET") {
      expect(repr).toBe(`sha-256=:${await sha256Of(whole!)}:`);
    }
  }
  if (content !== null) {
    expect(request.headers.get("Want-Content-Digest")).toBe("sha-256=1");
    expect(content).toBe(`sha-256=:${await sha256Of(body)}:`);
  }
}

/** The q-value Accept gives a type, by the most specific range naming it (RFC 9110 §12.5.1). */
function acceptQ(acceptValue: string, contentType: string): number {
  const [type, subtype] = contentType.split(";")[0]!.trim().split("/");
  let best = { specificity: -1, q: 0 };
  for (const member of acceptValue.split(",")) {
    const [range, ...params] = member.trim().split(";");
    const q = params.map((p) => /^\s*q=(.*)$/.exec(p)?.[1]).find((v) => v !== undefined);
    if (q !== undefined && !/^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(q)) continue;
    const [t, st] = (range ?? "").trim().split("/");
    const specificity =
      t === type && st === subtype
        ? 2
        : t === type && st === "*"
          ? 1
          : t === "*" && st === "*"
            ? 0
            : -1;
    if (specificity > best.specificity) best = { specificity, q: q === undefined ? 1 : Number(q) };
    else if (specificity === best.specificity)
      best.q = Math.max(best.q, q === undefined ? 1 : Number(q));
  }
  return best.q;
}

describe("decodePath over random paths", () => {
  // Segment by segment, as decodePath did before its shortcut for paths with nothing to decode.
  const decodeBySegment = (pathname: string): string | null => {
    if (!pathname.startsWith("/")) return null;
    const parts = pathname.split("/").slice(1);
    const out: string[] = [];
    for (const [i, raw] of parts.entries()) {
      if (raw === "") {
        if (i === parts.length - 1) out.push("");
        continue;
      }
      let decoded: string;
      try {
        decoded = decodeURIComponent(raw);
      } catch {
        return null;
      }
      if (decoded === "." || decoded === ".." || /[\u0000-\u001f\u007f/\\]/.test(decoded))
        return null;
      out.push(decoded);
    }
    return "/" + out.join("/");
  };

  it("decodes every path as decoding it segment by segment does", () => {
    const pathname = fc.oneof(
      path,
      fc.string(),
      fc.string({ unit: "binary" }).map((s) => `/${s}`),
    );
    fc.assert(
      fc.property(pathname, (p) => {
        expect(decodePath(p)).toBe(decodeBySegment(p));
      }),
      { numRuns: 3000 },
    );
  });
});

describe("splitUrl over random request URLs", () => {
  it("gives the origin, path and query new URL gives", () => {
    const origin = fc.constantFrom(
      "https://example.com",
      "http://127.0.0.1:8787",
      "https://[::1]:8443",
      "https://user:pass@example.com",
      "https://xn--caf-dma.example",
    );
    const query = fc.oneof(
      fc.constant(""),
      fc.string().map((q) => `?${q}`),
    );
    fc.assert(
      fc.property(origin, path, query, (o, p, q) => {
        const href = new Request(`${o}${p}${q}`).url;
        const url = new URL(href);
        expect(splitUrl(href)).toEqual({
          origin: url.origin,
          pathname: url.pathname,
          search: url.search,
        });
      }),
      { numRuns: 2000 },
    );
  });
});

describe("serveAsset over random requests", () => {
  it("never throws, answers with an expected status and keeps its headers truthful", async () => {
    const seen = new Set<number | null>();
    await fc.assert(
      fc.asyncProperty(path, headers, options, method, fc.boolean(), async (p, h, o, m, parts) => {
        let request: Request;
        try {
          request = new Request(`https://site.example${p}`, { method: m, headers: h });
        } catch {
          return; // not a request a client could send
        }
        seen.add(await check(request, parts ? inParts : manifest, o));
      }),
      { numRuns: 600 },
    );
    // The runs reached the common kinds of answer, not only the easy ones.
    for (const status of [null, 200, 301, 302, 307, 308, 404]) expect(seen).toContain(status);
  });

  it("answers random preconditions on real files with a correct 304, 412 or 200", async () => {
    const real = fc.constantFrom(...byEtag.keys());
    const tag = fc.oneof(
      real,
      real.map((t) => `W/${t}`),
      etagLike,
    );
    const conditions = fc.record(
      {
        "If-None-Match": fc.oneof(
          tag,
          fc.array(tag, { maxLength: 3 }).map((t) => t.join(", ")),
        ),
        "If-Match": fc.oneof(
          tag,
          fc.array(tag, { maxLength: 3 }).map((t) => t.join(", ")),
        ),
        "If-Modified-Since": date,
        "If-Unmodified-Since": date,
      },
      { requiredKeys: [] },
    );
    const seen = new Set<number | null>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/big.bin", "/app.js", "/empty.txt", "/a%20b.txt", "/caf%C3%A9.txt"),
        conditions,
        fc.constantFrom("GET", "HEAD"),
        async (p, h, m) => {
          const request = new Request(`https://site.example${p}`, { method: m, headers: h });
          const o = { htmlHandling: "none", notFoundHandling: "none" } as const;
          seen.add(await check(request, manifest, o));
        },
      ),
      { numRuns: 400 },
    );
    for (const status of [200, 304, 412]) expect(seen).toContain(status);
  });

  it("answers random ranges of real files with a correct 206, 416 or whole 200", async () => {
    const seen = new Set<number | null>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/big.bin", "/app.js", "/empty.txt", "/a%20b.txt"),
        fc.array(rangeSpec, { minLength: 1, maxLength: 3 }),
        fc.option(fc.oneof(etagLike, date), { nil: undefined }),
        fc.boolean(),
        async (p, specs, ifRange, parts) => {
          const h: Record<string, string> = { Range: `bytes=${specs.join(",")}` };
          if (ifRange !== undefined) h["If-Range"] = ifRange;
          const request = new Request(`https://site.example${p}`, { headers: h });
          const o = { htmlHandling: "none", notFoundHandling: "none" } as const;
          seen.add(await check(request, parts && p === "/big.bin" ? inParts : manifest, o));
        },
      ),
      { numRuns: 400 },
    );
    for (const status of [200, 206, 416]) expect(seen).toContain(status);
    expect(sawMultipart).toBe(true);
  });

  it("sends, of a file and its alternates, one whose q is the highest Accept gives any", async () => {
    const representations: Record<string, string[]> = {
      "/photo.jpg": ["/photo.jpg", "/photo.avif", "/photo.webp"],
      "/docs/guide": ["/docs/guide.html", "/docs/guide.md"],
    };
    const chosen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(representations)),
        fc.option(accept, { nil: undefined }),
        async (p, a) => {
          const request = new Request(`https://site.example${p}`, {
            headers: a === undefined ? {} : { Accept: a },
          });
          const response = (await serveAsset(request, manifest, env.ASSETS))!;
          const body = new Uint8Array(await response.arrayBuffer());
          expect(response.status).toBe(200);
          expect(response.headers.get("Vary")).toMatch(/\bAccept$/);
          const files = representations[p]!.map((file) => ({ file, type: files_[file]!.type! }));
          const sent = files.find((f) => response.headers.get("Content-Type") === f.type)!;
          expect(sent).toBeDefined();
          chosen.add(sent.file);
          expect(body).toEqual(toBytes(files_[sent.file]!.body));
          if (a === undefined) {
            expect(sent).toBe(files[0]);
            return;
          }
          const qs = files.map((f) => acceptQ(a, f.type));
          const q = acceptQ(a, sent.type);
          if (Math.max(...qs) === 0) expect(sent).toBe(files[0]);
          else expect(q).toBe(Math.max(...qs));
        },
      ),
      { numRuns: 400 },
    );
    expect(chosen.size).toBe(5);
  });

  it("serves the exact bytes of every file whatever the encoding negotiated", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(files)), async (file) => {
        const response = await serveAsset(
          new Request(`https://site.example${encodeURI(file)}`, {
            headers: { "Accept-Encoding": "identity" },
          }),
          manifest,
          env.ASSETS,
          { htmlHandling: "none" },
        );
        expect(new Uint8Array(await response!.arrayBuffer())).toEqual(toBytes(files[file]!.body));
      }),
      { numRuns: 30 },
    );
  });
});

describe("packManifest over random manifests", () => {
  const hex16 = fc.stringMatching(/^[0-9a-f]{16}$/);
  const digest = fc
    .uint8Array({ minLength: 32, maxLength: 32 })
    .map((bytes) => btoa(String.fromCharCode(...bytes)));
  const hash = fc.oneof({ weight: 4, arbitrary: hex16 }, fc.stringMatching(/^[0-9a-f]{1,64}$/));
  const entry = fc
    .tuple(
      hash,
      fc.nat(),
      fc.nat({ max: 3 }),
      fc.nat({ max: 2 }),
      fc.nat({ max: 3 }),
      fc.option(
        fc
          // The sync engine leaves the list out rather than write an empty one.
          .subarray(["br", "zstd", "gzip"] as const, { minLength: 1 })
          .chain((encodings) =>
            fc.tuple(
              ...encodings.map((e) =>
                fc
                  .tuple(fc.constant(e), hash, fc.nat(), fc.option(digest, { nil: undefined }))
                  .map(([en, h, n, d]) => (d === undefined ? [en, h, n] : [en, h, n, d])),
              ),
            ),
          ),
        { nil: undefined },
      ),
      fc.option(
        fc.record(
          {
            digest,
            alternates: fc.array(
              fc.tuple(fc.stringMatching(/^[a-z0-9]{1,5}$/), fc.nat({ max: 3 })),
              { minLength: 1, maxLength: 3 },
            ),
          },
          { requiredKeys: [] },
        ),
        { nil: undefined },
      ),
    )
    .map(([h, size, type, time, flags, variants, more]): ManifestEntry => {
      const head = [h, size, type, time, flags] as const;
      if (more !== undefined && Object.keys(more).length > 0) {
        return [...head, (variants ?? []) as ManifestVariant[], more];
      }
      return variants === undefined ? [...head] : [...head, variants as ManifestVariant[]];
    });
  const filePath = fc.oneof(
    path,
    fc.string({ unit: "binary", minLength: 1 }).map((s) => `/${s}`),
    fc.constantFrom("/%", "/a:b", "/a|b", "/%7C", "/a%3Ab", "/:", "/|", "/\u{1F600}", "/\uD800"),
  );
  const manifests = fc.dictionary(filePath, entry, { maxKeys: 60 }).map((files): AssetManifest => ({
    v: 1,
    prefix: "p/",
    chunk: 1000,
    types: ["a", "b", "c", "d"],
    times: [1, 2, 3],
    files,
  }));

  it("finds every file with its entry, finds nothing else, and unpacks to the same manifest", () => {
    fc.assert(
      fc.property(manifests, fc.array(filePath, { maxLength: 10 }), (m, others) => {
        const packed = packManifest(m);
        expect(packed.count).toBe(Object.keys(m.files).length);
        for (const [p, e] of Object.entries(m.files))
          expect(findPacked(packed.packed, p)).toEqual(e);
        for (const p of others) {
          if (!Object.hasOwn(m.files, p)) expect(findPacked(packed.packed, p)).toBeUndefined();
        }
        expect(unpackManifest(packed)).toEqual(m);
      }),
      { numRuns: 500 },
    );
  });
});

describe("loadManifest over random records", () => {
  it("never throws and returns null or a manifest under the project's own prefix", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.string(),
          fc
            .record({
              v: fc.constant(1),
              prefix: fc.string(),
              chunk: fc.integer(),
              types: fc.array(fc.string()),
              times: fc.array(fc.integer()),
              files: fc.dictionary(fc.string(), fc.jsonValue()),
            })
            .map((v) => JSON.stringify(v)),
        ),
        async (record) => {
          await env.ASSETS.put("project/random/manifest", record);
          const error = console.error;
          console.error = () => {};
          try {
            const loaded = await loadManifest(env.ASSETS, { project: "random", ttl: 0 });
            if (loaded !== null) expect(loaded.prefix).toBe("project/random/");
          } finally {
            console.error = error;
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("serves a published project whatever it is asked", async () => {
    const site = await seed(
      env.ASSETS,
      { "/index.html": files["/index.html"]! },
      { prefix: "project/prop/" },
    );
    await publish(env.ASSETS, site);
    await fc.assert(
      fc.asyncProperty(path, async (p) => {
        const loaded = await loadManifest(env.ASSETS, { project: "prop" });
        expect(loaded).not.toBeNull();
        const storage = counting(env.ASSETS);
        const response = await serveAsset(new Request(`https://t.example${p}`), loaded!, storage);
        await response?.arrayBuffer();
        for (const key of storage.reads) expect(key.startsWith("project/prop/")).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});
