// Variants by Accept (RFC 9110 §12.5.1), digests (RFC 9530) and zstd variants, served in workerd
// from real KV over a JSON, a packed and a sharded manifest.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { negotiateType, parseAccept, qualityOf } from "../src/accept.js";
import { wantsSha256 } from "../src/digest.js";
import {
  loadManifest,
  serveAsset,
  type AssetManifest,
  type ManifestSource,
  type ServeAssetOptions,
} from "../src/index.js";
import { packManifest } from "../src/packed.js";
import { counting, publish, seed, sha256Of, toBytes } from "./fixture.js";

const BROWSER_IMAGE = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
const BROWSER_PAGE =
  "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
const JPEG = "image/jpeg";
const AVIF = "image/avif";
const WEBP = "image/webp";
const HTML = "text/html; charset=utf-8";
const MARKDOWN = "text/markdown; charset=utf-8";
const text = "plain text, long enough to be worth a range ".repeat(4);

describe("negotiateType", () => {
  const photo = [JPEG, AVIF, WEBP];
  const page = [HTML, MARKDOWN];
  it.each([
    [null, photo, 0],
    ["", photo, 0],
    [BROWSER_IMAGE, photo, 1],
    ["image/webp,*/*", photo, 2],
    ["*/*", photo, 0],
    ["image/*", photo, 0],
    ["image/avif;q=0, image/*", photo, 0],
    ["image/avif;q=0.5, image/webp;q=0.9, image/jpeg;q=0.1", photo, 2],
    ["image/png", photo, 0],
    [BROWSER_PAGE, page, 0],
    ["text/markdown", page, 1],
    ["text/markdown, text/html;q=0.9", page, 1],
    ["text/markdown, text/html", page, 1],
    ["text/markdown;q=0.5, text/html", page, 0],
    ["text/markdown;q=0, */*", page, 0],
    ["text/*", page, 0],
    ["TEXT/MARKDOWN", page, 1],
    ["text/markdown;q=2", page, 0],
    ["garbage, /, text/, */markdown", page, 0],
  ] as const)("Accept %j over %j picks %i", (accept, types, index) => {
    expect(negotiateType(accept, types)).toBe(index);
  });

  it("weighs a type by its most specific range, not its highest q (§12.5.1)", () => {
    const ranges = parseAccept("text/*;q=0.3, text/markdown;q=0.7, */*;q=0.5");
    expect(qualityOf(MARKDOWN, ranges)).toEqual({ q: 0.7, specificity: 2 });
    expect(qualityOf(HTML, ranges)).toEqual({ q: 0.3, specificity: 1 });
    expect(qualityOf(JPEG, ranges)).toEqual({ q: 0.5, specificity: 0 });
  });
});

describe("wantsSha256", () => {
  it.each([
    [null, true],
    ["sha-256=1", true],
    ["sha-512=3, sha-256=10", true],
    ["SHA-256=5", true],
    ["sha-256=0", false],
    ["sha-512=5", false],
    ["sha-256=11", false],
    ["sha-256", false],
    ["", false],
  ] as const)("Want-Repr-Digest %j allows sha-256: %s", (want, allowed) => {
    expect(wantsSha256(want)).toBe(allowed);
  });
});

let manifest: AssetManifest;
let plain: AssetManifest;
let sharded: ManifestSource;
let form: () => ManifestSource = () => manifest;

beforeAll(async () => {
  manifest = await seed(
    env.ASSETS,
    {
      "/photo.jpg": { body: "JPEG-BYTES-LONGEST", type: JPEG, alternates: ["avif", "webp"] },
      "/photo.avif": { body: "AVIF", type: AVIF },
      "/photo.webp": { body: "WEBP-BY", type: WEBP },
      "/docs/index.html": {
        body: "<h1>Docs</h1>",
        type: HTML,
        alternates: ["md"],
        variants: { br: "HTML-BR" },
      },
      "/docs/index.md": { body: "# Docs", type: MARKDOWN, variants: { br: "MD-BR" } },
      "/notes.txt": {
        body: text,
        variants: { br: "NOTES-BR", zstd: "NOTES-ZSTD", gzip: "NOTES-GZ" },
      },
    },
    { prefix: "negotiation/", digests: true },
  );
  plain = await seed(env.ASSETS, { "/notes.txt": { body: text } }, { prefix: "plain/" });
  await publish(env.ASSETS, manifest, { shards: 4 });
  sharded = (await loadManifest(env.ASSETS, { prefix: "negotiation/", ttl: 0 }))!;
});

async function serve(
  path: string,
  headers: Record<string, string> = {},
  options: ServeAssetOptions = {},
  method = "GET",
): Promise<{ response: Response; reads: string[] }> {
  const storage = counting(env.ASSETS);
  const request = new Request(`https://example.com${path}`, { headers, method });
  const response = await serveAsset(request, form(), storage, options);
  return { response: response!, reads: storage.reads };
}

async function bodyOf(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

describe.each([
  ["a JSON manifest", () => manifest],
  ["a packed manifest", () => packManifest(manifest)],
  ["a sharded manifest", () => sharded],
])("over %s", (_, formOf) => {
  beforeAll(() => {
    form = formOf;
  });

  describe("variants by Accept", () => {
    it("sends AVIF to a browser's image Accept, with its own ETag, length and Vary: Accept", async () => {
      const { response } = await serve("/photo.jpg", { Accept: BROWSER_IMAGE });
      expect(response.status).toBe(200);
      expect(response.headers.get("Content-Type")).toBe(AVIF);
      expect(response.headers.get("Content-Length")).toBe("4");
      expect(response.headers.get("Vary")).toBe("Accept");
      expect(response.headers.get("Content-Location")).toBe("/photo.avif");
      const direct = await serve("/photo.avif");
      expect(response.headers.get("ETag")).toBe(direct.response.headers.get("ETag"));
      expect(direct.response.headers.get("Vary")).toBeNull();
      await direct.response.arrayBuffer();
      expect(await response.text()).toBe("AVIF");
    });

    it("sends WebP to a client that names only WebP", async () => {
      const { response } = await serve("/photo.jpg", { Accept: "image/webp,*/*" });
      expect(response.headers.get("Content-Type")).toBe(WEBP);
      expect(await response.text()).toBe("WEBP-BY");
    });

    it.each([["*/*"], ["image/*"], ["image/png"]])(
      "sends the file itself, with Vary: Accept and no Content-Location, for Accept %j",
      async (accept) => {
        const { response } = await serve("/photo.jpg", { Accept: accept });
        expect(response.headers.get("Content-Type")).toBe(JPEG);
        expect(response.headers.get("Vary")).toBe("Accept");
        expect(response.headers.get("Content-Location")).toBeNull();
        expect(await response.text()).toBe("JPEG-BYTES-LONGEST");
      },
    );

    it("sends the file itself with Vary: Accept when the request has no Accept", async () => {
      const { response } = await serve("/photo.jpg");
      expect(response.headers.get("Content-Type")).toBe(JPEG);
      expect(response.headers.get("Vary")).toBe("Accept");
      await response.arrayBuffer();
    });

    it("sends Markdown of a page to Accept: text/markdown, br-encoded when accepted", async () => {
      const { response } = await serve("/docs/", {
        Accept: "text/markdown",
        "Accept-Encoding": "br",
      });
      expect(response.headers.get("Content-Type")).toBe(MARKDOWN);
      expect(response.headers.get("Content-Encoding")).toBe("br");
      expect(response.headers.get("Vary")).toBe("Accept-Encoding, Accept");
      expect(response.headers.get("Content-Location")).toBe("/docs/index.md");
      expect(await response.text()).toBe("MD-BR");
    });

    it("sends the page to a browser's navigation Accept", async () => {
      const { response } = await serve("/docs/", { Accept: BROWSER_PAGE });
      expect(response.headers.get("Content-Type")).toBe(HTML);
      expect(response.headers.get("Vary")).toBe("Accept-Encoding, Accept");
      expect(await response.text()).toBe("<h1>Docs</h1>");
    });

    it("answers a revalidation of the Markdown with 304, Vary: Accept and no storage read", async () => {
      const first = await serve("/docs/", { Accept: "text/markdown" });
      const etag = first.response.headers.get("ETag")!;
      await first.response.arrayBuffer();
      const again = await serve("/docs/", { Accept: "text/markdown", "If-None-Match": etag });
      expect(again.response.status).toBe(304);
      expect(again.response.headers.get("Vary")).toBe("Accept-Encoding, Accept");
      expect(again.response.headers.get("Content-Location")).toBe("/docs/index.md");
      expect(again.reads.filter((key) => !isShard(key))).toEqual([]);
    });

    it("does not answer a page's ETag with 304 when Accept chose its Markdown", async () => {
      const page = await serve("/docs/");
      const etag = page.response.headers.get("ETag")!;
      await page.response.arrayBuffer();
      const { response } = await serve("/docs/", {
        Accept: "text/markdown",
        "If-None-Match": etag,
      });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("# Docs");
    });

    it("serves a range of the alternate Accept chose", async () => {
      const { response } = await serve("/photo.jpg", { Accept: AVIF, Range: "bytes=1-2" });
      expect(response.status).toBe(206);
      expect(response.headers.get("Content-Range")).toBe("bytes 1-2/4");
      expect(await response.text()).toBe("VI");
    });
  });

  describe("digests", () => {
    it("sends Repr-Digest, the sha-256 of the body sent, for the identity body", async () => {
      const { response } = await serve("/notes.txt");
      const digest = response.headers.get("Repr-Digest");
      expect(digest).toBe(`sha-256=:${await sha256Of(await bodyOf(response))}:`);
    });

    it("sends the variant's own Repr-Digest with a br body", async () => {
      const { response } = await serve("/notes.txt", { "Accept-Encoding": "br" });
      expect(response.headers.get("Content-Encoding")).toBe("br");
      const sent = await bodyOf(response);
      expect(new TextDecoder().decode(sent)).toBe("NOTES-BR");
      expect(response.headers.get("Repr-Digest")).toBe(`sha-256=:${await sha256Of(sent)}:`);
    });

    it("sends the alternate's Repr-Digest when Accept chose it", async () => {
      const { response } = await serve("/photo.jpg", { Accept: AVIF });
      expect(response.headers.get("Repr-Digest")).toBe(
        `sha-256=:${await sha256Of(toBytes("AVIF"))}:`,
      );
      await response.arrayBuffer();
    });

    it.each([["sha-256=0"], ["sha-512=5"]])(
      "leaves Repr-Digest out for Want-Repr-Digest %j",
      async (want) => {
        const { response } = await serve("/notes.txt", { "Want-Repr-Digest": want });
        expect(response.headers.get("Repr-Digest")).toBeNull();
        await response.arrayBuffer();
      },
    );

    it("sends Repr-Digest for Want-Repr-Digest naming sha-256, and with a HEAD", async () => {
      const wanted = await serve("/notes.txt", { "Want-Repr-Digest": "sha-512=9, sha-256=2" });
      expect(wanted.response.headers.get("Repr-Digest")).toMatch(/^sha-256=:[A-Za-z0-9+/]{43}=:$/);
      await wanted.response.arrayBuffer();
      const head = await serve("/notes.txt", {}, {}, "HEAD");
      expect(head.response.headers.get("Repr-Digest")).toBe(
        wanted.response.headers.get("Repr-Digest"),
      );
    });

    it("sends Content-Digest of the whole body to Want-Content-Digest", async () => {
      const { response } = await serve("/notes.txt", { "Want-Content-Digest": "sha-256=1" });
      expect(response.headers.get("Content-Digest")).toBe(response.headers.get("Repr-Digest"));
      await response.arrayBuffer();
    });

    it("computes Content-Digest of a range, beside the whole file's Repr-Digest (§3)", async () => {
      const { response } = await serve("/notes.txt", {
        Range: "bytes=6-15",
        "Want-Content-Digest": "sha-256=1",
      });
      expect(response.status).toBe(206);
      const part = await bodyOf(response);
      expect(new TextDecoder().decode(part)).toBe(text.slice(6, 16));
      expect(response.headers.get("Content-Digest")).toBe(`sha-256=:${await sha256Of(part)}:`);
      expect(response.headers.get("Repr-Digest")).toBe(
        `sha-256=:${await sha256Of(toBytes(text))}:`,
      );
    });

    it("sends no Content-Digest of a range unless asked, and no Repr-Digest with a 304", async () => {
      const ranged = await serve("/notes.txt", { Range: "bytes=0-3" });
      expect(ranged.response.headers.get("Content-Digest")).toBeNull();
      const etag = ranged.response.headers.get("ETag")!;
      await ranged.response.arrayBuffer();
      const again = await serve("/notes.txt", { "If-None-Match": etag });
      expect(again.response.status).toBe(304);
      expect(again.response.headers.get("Repr-Digest")).toBeNull();
    });
  });

  describe("zstd variants", () => {
    it.each([
      ["zstd", "zstd", "NOTES-ZSTD"],
      ["gzip, deflate, br, zstd", "br", "NOTES-BR"],
      ["zstd, gzip", "zstd", "NOTES-ZSTD"],
      ["br;q=0.5, zstd", "zstd", "NOTES-ZSTD"],
      ["zstd;q=0, gzip", "gzip", "NOTES-GZ"],
    ])("answers Accept-Encoding %j with %s", async (accept, encoding, body) => {
      const { response } = await serve("/notes.txt", { "Accept-Encoding": accept });
      expect(response.headers.get("Content-Encoding")).toBe(encoding);
      expect(response.headers.get("Vary")).toBe("Accept-Encoding");
      expect(await response.text()).toBe(body);
    });
  });
});

it("sends no digest fields for a manifest synced without digests", async () => {
  const storage = counting(env.ASSETS);
  const request = new Request("https://example.com/notes.txt", {
    headers: { "Want-Content-Digest": "sha-256=1", "Want-Repr-Digest": "sha-256=1" },
  });
  const response = (await serveAsset(request, plain, storage))!;
  expect(response.headers.get("Repr-Digest")).toBeNull();
  expect(response.headers.get("Content-Digest")).toBeNull();
  await response.arrayBuffer();
});

function isShard(key: string): boolean {
  return key.startsWith("negotiation/") && !key.includes(".");
}
