// Large files in R2 beside small ones in KV: r2Storage and the r2 option of serveAsset.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { r2Storage, serveAsset, type AssetManifest, type AssetStorage } from "../src/index.js";
import { counting, seed } from "./fixture.js";

const large = new Uint8Array(200_000).map((_, i) => i % 253);
let manifest: AssetManifest;

beforeAll(async () => {
  manifest = await seed(
    env.ASSETS,
    {
      "/small.txt": { body: "in kv" },
      "/video.bin": { body: large, type: "video/mp4", inBucket: true },
      "/text.txt": {
        body: "text ".repeat(1000),
        inBucket: true,
        variants: { gzip: "GZIP-IN-R2" },
      },
    },
    { prefix: "r2site/", bucket: env.BUCKET },
  );
});

/** r2Storage wrapped so a test sees each call it makes. */
function countingBucket(): AssetStorage & { calls: string[] } {
  const inner = r2Storage(env.BUCKET);
  const calls: string[] = [];
  return {
    calls,
    get(key, options) {
      calls.push(`get ${key}`);
      return inner.get(key, options);
    },
    getRange(key, range) {
      calls.push(`range ${key} ${range.start}-${range.end}`);
      return inner.getRange!(key, range);
    },
  };
}

async function serve(path: string, headers: Record<string, string> = {}, method = "GET") {
  const kv = counting(env.ASSETS);
  const bucket = countingBucket();
  const response = await serveAsset(
    new Request(`https://site.example${path}`, { headers, method }),
    manifest,
    kv,
    { r2: bucket },
  );
  return { response, kv: kv.reads, bucket: bucket.calls };
}

describe("files in the bucket", () => {
  it("serves a file from R2 with its length", async () => {
    const { response, kv, bucket } = await serve("/video.bin");
    expect(response?.headers.get("Content-Length")).toBe(String(large.byteLength));
    expect(new Uint8Array(await response!.arrayBuffer())).toEqual(large);
    expect(kv).toEqual([]);
    expect(bucket).toHaveLength(1);
  });

  it("reads only the requested range from R2", async () => {
    const { response, bucket } = await serve("/video.bin", { Range: "bytes=150000-150009" });
    expect(response?.status).toBe(206);
    expect(new Uint8Array(await response!.arrayBuffer())).toEqual(large.slice(150000, 150010));
    expect(bucket).toEqual([expect.stringMatching(/^range r2site\/[0-9a-f]{16} 150000-150009$/)]);
  });

  it("serves a precompressed variant from R2", async () => {
    const { response } = await serve("/text.txt", { "Accept-Encoding": "gzip" });
    expect(response?.headers.get("Content-Encoding")).toBe("gzip");
    expect(await response?.text()).toBe("GZIP-IN-R2");
  });

  it("answers 304 and HEAD without touching R2", async () => {
    const first = await serve("/video.bin", {}, "HEAD");
    expect(first.bucket).toEqual([]);
    const etag = first.response?.headers.get("ETag") as string;
    const second = await serve("/video.bin", { "If-None-Match": etag });
    expect(second.response?.status).toBe(304);
    expect(second.bucket).toEqual([]);
  });

  it("keeps serving small files from KV", async () => {
    const { response, kv, bucket } = await serve("/small.txt");
    expect(await response?.text()).toBe("in kv");
    expect(kv).toHaveLength(1);
    expect(bucket).toEqual([]);
  });

  it("answers 503 with a log line when the manifest has R2 files but no R2 storage was given", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await serveAsset(
      new Request("https://site.example/video.bin"),
      manifest,
      env.ASSETS,
    );
    expect(response?.status).toBe(503);
    expect(error.mock.calls[0]?.[0]).toMatch(
      /stored in R2, but no R2 storage was given; pass \{ r2: r2Storage\(env.BUCKET\) \}/,
    );
    error.mockRestore();
  });

  it("answers 503 when the object is missing from R2", async () => {
    const gone = await seed(
      env.ASSETS,
      { "/gone.bin": { body: "soon gone", inBucket: true } },
      { prefix: "r2gone/", bucket: env.BUCKET },
    );
    await env.BUCKET.delete(`r2gone/${gone.files["/gone.bin"]![0]}`);
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await serveAsset(
      new Request("https://site.example/gone.bin"),
      gone,
      env.ASSETS,
      {
        r2: r2Storage(env.BUCKET),
      },
    );
    expect(response?.status).toBe(503);
    error.mockRestore();
  });
});
