// Memory of a sync does not grow with the size of its files: large files are hashed a block at a
// time and uploaded a stored part at a time, and one over the limit is refused from its size.
import { open } from "node:fs/promises";
import { join } from "node:path";
import { KV_VALUE_LIMIT, contentKey, partKeys } from "@kv-assets/runtime/format";
import { describe, expect, it } from "vitest";
import { hashBytes } from "@kv-assets/runtime/publish";
import { syncAssets } from "../src/index.js";
import type { KvTarget } from "../src/target.js";
import { makeProject, memoryLogger } from "./project.js";

const MiB = 1024 * 1024;

/** A target that keeps only the hash and size of what it is given, so it holds no bodies itself. */
function discardingTarget(): KvTarget & { values: Map<string, { hash: string; size: number }> } {
  const values = new Map<string, { hash: string; size: number }>();
  const texts = new Map<string, string>();
  return {
    values,
    remote: false,
    description: "discarding",
    async list(prefix) {
      return [...values.keys(), ...texts.keys()]
        .filter((name) => name.startsWith(prefix))
        .map((name) => ({ name }));
    },
    async getText(key) {
      return texts.get(key) ?? null;
    },
    async putMany(entries) {
      for (const { key, value } of entries) {
        if (typeof value === "string") texts.set(key, value);
        else values.set(key, { hash: await hashBytes(value), size: value.byteLength });
      }
    },
    async deleteMany(keys) {
      for (const key of keys) values.delete(key) || texts.delete(key);
    },
    async close() {},
  };
}

/** A file of `size` bytes that takes no room on disk (a sparse file, read back as zeros). */
async function sparse(path: string, size: number): Promise<void> {
  const handle = await open(path, "w");
  await handle.truncate(size);
  // One byte that is not zero in every stored part, so the parts differ.
  for (let at = 0; at < size; at += KV_VALUE_LIMIT)
    await handle.write(new Uint8Array([at / MiB]), 0, 1, at);
  await handle.close();
}

/** Runs `run`, sampling the memory JavaScript holds (heap and buffers); returns the peak growth. */
async function peakGrowth(run: () => Promise<unknown>): Promise<number> {
  const held = (): number => {
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const base = held();
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, held())), 5);
  try {
    await run();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, held()) - base;
}

describe("memory of a sync with large files", () => {
  it("stays bounded for two 600 MB files, and every part is stored", async () => {
    const project = await makeProject({ "index.html": "x" });
    await sparse(join(project.dist, "video-a.bin"), 600 * MiB);
    await sparse(join(project.dist, "video-b.bin"), 600 * MiB + 12345);
    const target = discardingTarget();
    let manifest;
    const growth = await peakGrowth(async () => {
      ({ manifest } = await syncAssets({ dir: project.dist, target, logger: memoryLogger() }));
    });
    // Reading either file whole would take 600 MB. What the sync holds is a constant: the upload
    // batch (32 MiB) and one stored part (25 MiB); the rest of the bound is room for buffers the
    // garbage collector has not freed yet (bench:sync measures the figure).
    expect(growth).toBeLessThan(256 * MiB);
    for (const path of ["/video-a.bin", "/video-b.bin"]) {
      const [hash, size] = manifest!.files[path]!;
      const keys = partKeys(contentKey("", hash), size, KV_VALUE_LIMIT);
      expect(keys).toHaveLength(Math.ceil(size / KV_VALUE_LIMIT));
      expect(keys.reduce((sum, key) => sum + target.values.get(key)!.size, 0)).toBe(size);
    }
  }, 120_000);

  it("refuses a file over maxFileSize from its size, without reading it", async () => {
    const project = await makeProject({ "index.html": "x" });
    await sparse(join(project.dist, "huge.bin"), 2 * 1024 * MiB);
    const target = discardingTarget();
    let error: unknown;
    const growth = await peakGrowth(async () => {
      error = await syncAssets({ dir: project.dist, target, logger: memoryLogger() }).catch(
        (e: unknown) => e,
      );
    });
    expect(String(error)).toMatch(
      /\/huge\.bin is 2147483648 bytes, over the 1073741824-byte limit; exclude it or raise maxFileSize/,
    );
    expect(growth).toBeLessThan(16 * MiB);
    expect(target.values.size).toBe(0);
  });

  it("refuses a large file that changes between its hash and its upload, writing none of its parts", async () => {
    const project = await makeProject({});
    const file = join(project.dist, "moving.bin");
    await sparse(file, 60 * MiB);
    const target = discardingTarget();
    const put = target.putMany.bind(target);
    let changed = false;
    // The first write is the lock, taken after every file is hashed: change the file then.
    target.putMany = async (entries) => {
      if (!changed) {
        changed = true;
        const handle = await open(file, "r+");
        await handle.write(new Uint8Array([7]), 0, 1, 40 * MiB);
        await handle.close();
      }
      return put(entries);
    };
    await expect(syncAssets({ dir: project.dist, target, logger: memoryLogger() })).rejects.toThrow(
      /\/moving\.bin changed while it was being synced/,
    );
    expect(changed).toBe(true);
    // The first part was unchanged and may be stored; the changed second one must not be.
    expect([...target.values.keys()].filter((k) => k.endsWith(".1"))).toEqual([]);
  });
});
