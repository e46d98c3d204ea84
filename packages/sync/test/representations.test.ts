// What the sync records of each file's representations: zstd variants, digests (RFC 9530), and
// the files beside a page or image that Accept chooses between.
import { createHash } from "node:crypto";
import { Zstd } from "@hpcc-js/wasm-zstd";
import { getAsset, type AssetManifest } from "@kv-assets/runtime/format";
import { describe, expect, it } from "vitest";
import { zstd } from "../src/precompress.js";
import { syncAssets, type SyncOptions } from "../src/index.js";
import { memoryTarget, type MemoryTarget } from "./memory-target.js";
import { memoryLogger } from "./project.js";

const css = "body { color: rebeccapurple; margin: 0 auto; }\n".repeat(200);
const sha256 = (bytes: Uint8Array | string): string =>
  createHash("sha256").update(bytes).digest("base64");

function sync(
  target: MemoryTarget,
  files: Record<string, string | Uint8Array>,
  options: Partial<SyncOptions> = {},
) {
  return syncAssets({ target, files, logger: memoryLogger(), ...options });
}

/** The stored bytes of `key` in `target`. */
function stored(target: MemoryTarget, key: string): Uint8Array {
  return target.store.get(key)!.value;
}

describe("zstd variants", () => {
  it("compresses to bytes zstd decodes back to the file", async () => {
    const decoder = await Zstd.load();
    const bytes = new TextEncoder().encode(css);
    const compressed = await zstd(bytes);
    expect(compressed.byteLength).toBeLessThan(bytes.byteLength / 4);
    expect(new TextDecoder().decode(decoder.decompress(compressed))).toBe(css);
  });

  it("makes br, zstd and gzip when asked, in that order, each decoding to the file", async () => {
    const target = memoryTarget();
    const { manifest } = await sync(
      target,
      { "/style.css": css },
      {
        precompress: ["gzip", "zstd", "br"],
      },
    );
    const style = getAsset(manifest, "/style.css")!;
    expect(style.variants.map((v) => v.encoding)).toEqual(["br", "zstd", "gzip"]);
    const decoder = await Zstd.load();
    const variant = style.variants.find((v) => v.encoding === "zstd")!;
    expect(new TextDecoder().decode(decoder.decompress(stored(target, variant.key)))).toBe(css);
  });

  it("drops zstd on a deploy that no longer asks for it", async () => {
    const target = memoryTarget();
    const first = await sync(
      target,
      { "/style.css": css },
      { precompress: ["br", "zstd", "gzip"] },
    );
    const { manifest } = await sync(target, { "/style.css": css });
    const [br, , gzip] = getAsset(first.manifest, "/style.css")!.variants;
    expect(getAsset(manifest, "/style.css")!.variants).toEqual([br, gzip]);
  });

  it("adds zstd to content an earlier deploy compressed without it", async () => {
    const target = memoryTarget();
    await sync(target, { "/style.css": css });
    const { manifest } = await sync(
      target,
      { "/style.css": css },
      {
        precompress: ["br", "zstd", "gzip"],
      },
    );
    expect(getAsset(manifest, "/style.css")!.variants.map((v) => v.encoding)).toEqual([
      "br",
      "zstd",
      "gzip",
    ]);
  });

  it("compresses content an earlier deploy synced with precompress off", async () => {
    const target = memoryTarget();
    await sync(target, { "/style.css": css }, { precompress: false });
    const { manifest } = await sync(target, { "/style.css": css });
    expect(getAsset(manifest, "/style.css")!.variants.map((v) => v.encoding)).toEqual([
      "br",
      "gzip",
    ]);
    const off = await sync(target, { "/style.css": css }, { precompress: false });
    expect(getAsset(off.manifest, "/style.css")!.variants).toEqual([]);
  });

  it.each([[["br", "lzma"]], ["br"], [[1]]])("refuses precompress %j by name", async (value) => {
    await expect(
      sync(memoryTarget(), { "/a.css": css }, { precompress: value as SyncOptions["precompress"] }),
    ).rejects.toThrow(/option precompress must be true, false or a list of "br", "zstd", "gzip"/);
  });
});

describe("digests", () => {
  it("records the sha-256 of every body and variant as stored", async () => {
    const target = memoryTarget();
    const { manifest } = await sync(
      target,
      { "/style.css": css, "/a.bin": "xy" },
      {
        digests: true,
      },
    );
    const style = getAsset(manifest, "/style.css")!;
    expect(style.digest).toBe(sha256(css));
    expect(style.variants).toHaveLength(2);
    for (const variant of style.variants) {
      expect(variant.digest).toBe(sha256(stored(target, variant.key)));
    }
    expect(getAsset(manifest, "/a.bin")!.digest).toBe(sha256("xy"));
  });

  it("records the digest of a file written in parts, read once", async () => {
    const big = new Uint8Array(5000).map((_, i) => (i * 31) % 251);
    const target = memoryTarget();
    const { manifest } = await sync(
      target,
      { "/big.bin": big },
      {
        digests: true,
        partSize: 1024,
      },
    );
    expect(getAsset(manifest, "/big.bin")!.digest).toBe(sha256(big));
  });

  it("adds digests to content an earlier deploy synced without them, and drops them when off", async () => {
    const big = new Uint8Array(5000).map((_, i) => (i * 17) % 253);
    const target = memoryTarget();
    const files = { "/style.css": css, "/big.bin": big };
    await sync(target, files, { partSize: 1024 });
    const { manifest, stats } = await sync(target, files, { digests: true, partSize: 1024 });
    expect(stats.newFiles).toBe(0);
    expect(getAsset(manifest, "/big.bin")!.digest).toBe(sha256(big));
    const style = getAsset(manifest, "/style.css")!;
    expect(style.digest).toBe(sha256(css));
    expect(style.variants.every((v) => v.digest === sha256(stored(target, v.key)))).toBe(true);
    const off = await sync(target, files, { partSize: 1024 });
    const plain = getAsset(off.manifest, "/style.css")!;
    expect(plain.digest).toBeUndefined();
    expect(plain.variants.every((v) => v.digest === undefined)).toBe(true);
  });

  it("keeps a retained file's digest and alternates, its types pointing into the new tables", async () => {
    const target = memoryTarget();
    const image = "/assets/photo-Ab12Cd34.png";
    const first = await sync(
      target,
      { [image]: "png", "/assets/photo-Ab12Cd34.webp": "w", "/index.html": "v1" },
      { digests: true },
    );
    const second = await sync(target, { "/index.html": "v2", "/a.txt": "a" }, { digests: true });
    const entry = second.manifest.retained![0]!.files[image]!;
    const kept = getAsset({ ...second.manifest, files: { [image]: entry } }, image)!;
    expect(kept.digest).toBe(sha256("png"));
    expect(kept.alternates).toEqual(getAsset(first.manifest, image)!.alternates);
  });

  it("carries digests over to the next deploy", async () => {
    const target = memoryTarget();
    const first = await sync(target, { "/style.css": css }, { digests: true });
    const second = await sync(target, { "/style.css": css, "/b.txt": "b" }, { digests: true });
    expect(getAsset(second.manifest, "/style.css")).toEqual(getAsset(first.manifest, "/style.css"));
  });
});

describe("acceptVariants", () => {
  const files = {
    "/photo.jpg": "j".repeat(300),
    "/photo.webp": "w".repeat(200),
    "/photo.avif": "a".repeat(100),
    "/icons/logo.png": "p".repeat(50),
    "/icons/logo.webp": "q".repeat(40),
    "/lonely.webp": "l",
    "/docs/index.html": "<h1>docs</h1>",
    "/docs/index.md": "# docs",
    "/about.html": "<h1>about</h1>",
    "/about.md": "# about",
    "/notes.md": "# notes",
    "/.hidden.jpg": "h",
  };

  function alternatesOf(manifest: AssetManifest, path: string) {
    return getAsset(manifest, path)!.alternates;
  }

  it("records the files beside a page or image in other types, smallest first", async () => {
    const { manifest } = await sync(memoryTarget(), files);
    expect(alternatesOf(manifest, "/photo.jpg")).toEqual([
      { path: "/photo.avif", contentType: "image/avif" },
      { path: "/photo.webp", contentType: "image/webp" },
    ]);
    expect(alternatesOf(manifest, "/icons/logo.png")).toEqual([
      { path: "/icons/logo.webp", contentType: "image/webp" },
    ]);
    expect(alternatesOf(manifest, "/docs/index.html")).toEqual([
      { path: "/docs/index.md", contentType: "text/markdown; charset=utf-8" },
    ]);
    expect(alternatesOf(manifest, "/about.html")?.map((a) => a.path)).toEqual(["/about.md"]);
    for (const path of ["/photo.webp", "/lonely.webp", "/notes.md", "/docs/index.md"]) {
      expect(alternatesOf(manifest, path)).toBeUndefined();
    }
  });

  it("records them under the base path", async () => {
    const { manifest } = await sync(memoryTarget(), files, { basePath: "/app/" });
    expect(alternatesOf(manifest, "/app/photo.jpg")?.map((a) => a.path)).toEqual([
      "/app/photo.avif",
      "/app/photo.webp",
    ]);
  });

  it("records none with acceptVariants: false", async () => {
    const { manifest } = await sync(memoryTarget(), files, { acceptVariants: false });
    expect(alternatesOf(manifest, "/photo.jpg")).toBeUndefined();
    expect(alternatesOf(manifest, "/docs/index.html")).toBeUndefined();
  });
});
