// One contract for every AssetStorage the runtime reads bodies from: KV as it is, R2 through
// r2Storage, and the edge cache in front of either, each against real Miniflare storage.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { r2Storage, type AssetStorage } from "../src/index.js";
import { withEdgeCache } from "../src/edge-cache.js";

interface Driver {
  storage: AssetStorage;
  /** Lets background work (edge cache writes) finish. */
  settle(): Promise<void>;
}

let run = 0;
const waits: Promise<unknown>[] = [];
const settle = async (): Promise<void> => void (await Promise.all(waits.splice(0)));
const edgeCache = (storage: AssetStorage): AssetStorage =>
  withEdgeCache(storage, caches.default, `https://contract-${++run}.example`, (p) => waits.push(p));

// Each driver, and whether it reads ranges (KV does not: the runtime reads up to a range's end).
const drivers: [string, () => Driver, boolean][] = [
  ["KV", () => ({ storage: env.ASSETS, settle }), false],
  ["R2 (r2Storage)", () => ({ storage: r2Storage(env.BUCKET), settle }), true],
  ["the edge cache over KV", () => ({ storage: edgeCache(env.ASSETS), settle }), true],
  ["the edge cache over R2", () => ({ storage: edgeCache(r2Storage(env.BUCKET)), settle }), true],
];

/** Stores `bytes` under a fresh key in both KV and R2, so every driver can read it. */
async function stored(bytes: Uint8Array): Promise<string> {
  const key = `contract/${crypto.randomUUID()}`;
  await env.ASSETS.put(key, bytes);
  await env.BUCKET.put(key, bytes);
  return key;
}

const every = new Uint8Array(300).map((_, i) => i % 256);

async function read(stream: ReadableStream | null): Promise<Uint8Array | null> {
  return stream && new Uint8Array(await new Response(stream).arrayBuffer());
}

describe.each(drivers)("AssetStorage: %s", (_, make, ranges) => {
  it("streams a stored value back byte for byte, again once background work is done", async () => {
    const { storage, settle } = make();
    const key = await stored(every);
    expect(await read(await storage.get(key, { type: "stream" }))).toEqual(every);
    await settle();
    expect(await read(await storage.get(key, { type: "stream", cacheTtl: 60 }))).toEqual(every);
  });

  it("answers null for a key it does not hold", async () => {
    const { storage } = make();
    expect(
      await storage.get(`contract/missing-${crypto.randomUUID()}`, { type: "stream" }),
    ).toBeNull();
  });

  it("streams an empty value as no bytes", async () => {
    const { storage } = make();
    const key = await stored(new Uint8Array());
    expect(await read(await storage.get(key, { type: "stream" }))).toEqual(new Uint8Array());
  });

  it("streams a value of a mebibyte whole", async () => {
    const { storage } = make();
    const big = new Uint8Array(1024 * 1024).map((_, i) => (i * 7) % 251);
    const key = await stored(big);
    expect(await read(await storage.get(key, { type: "stream" }))).toEqual(big);
  });

  it("reads ranges exactly when it says it does", () => {
    expect(make().storage.getRange !== undefined).toBe(ranges);
  });

  // Only storage that reads ranges has these to meet.
  if (!ranges) return;

  it.each([
    [0, 0],
    [0, 299],
    [17, 17],
    [100, 250],
    [299, 299],
  ])("reads bytes %i to %i when it reads ranges, before and after caching", async (start, end) => {
    const { storage, settle } = make();
    const key = await stored(every);
    expect(await read(await storage.getRange!(key, { start, end }))).toEqual(
      every.slice(start, end + 1),
    );
    await settle();
    expect(await read(await storage.getRange!(key, { start, end }))).toEqual(
      every.slice(start, end + 1),
    );
  });

  it("answers null for a range of a key it does not hold", async () => {
    const { storage } = make();
    const missing = `contract/missing-${crypto.randomUUID()}`;
    expect(await storage.getRange!(missing, { start: 0, end: 9 })).toBeNull();
  });
});
