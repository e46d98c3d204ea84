// Several sites in one namespace, with prefixes chosen to look like each other's records: no sync or
// prune of one ever reads, trusts or deletes another's keys.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getAsset, isContentKey, pointerKey, previewKey } from "@kv-assets/runtime/format";
import type { AssetManifest } from "@kv-assets/runtime";
import { hashBytes } from "@kv-assets/runtime/publish";
import { pruneAssets, syncAssets } from "../src/index.js";
import { readHistory } from "../src/history.js";
import { resolvePrefix } from "../src/manifest.js";
import { releaseLock, takeLock } from "../src/locks.js";
import { memoryTarget, type MemoryTarget } from "./memory-target.js";
import { memoryLogger } from "./project.js";

// Pieces that spell other sites' records (most often), hashes, parts and project folders.
const piece = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom("manifests/", "locks/", "uploads/", "previews/", "manifest"),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "a",
      "docs/",
      "project/",
      "project/acme/",
      "0123456789abcdef",
      "0123456789abcdef.json",
      "000000000000001",
      "sync-",
      "prune-",
      ".",
      "-",
      "/",
    ),
  },
);

// Each site's prefix extends an earlier site's (or is new), so one site's listing holds another's keys.
const sites = fc
  .array(
    fc.record({
      parent: fc.nat(),
      tail: fc.array(piece, { maxLength: 2 }).map((p) => p.join("")),
      project: fc.option(fc.constantFrom("acme", "locks", "manifests", "uploads", "a-b"), {
        nil: undefined,
      }),
    }),
    { minLength: 2, maxLength: 3 },
  )
  .map((drawn) => {
    const prefixes: string[] = [];
    return drawn.map(({ parent, tail, project }, i) => {
      const base = parent % (i + 1) === i ? "" : (prefixes[parent % (i + 1)] as string);
      prefixes.push(base + tail);
      return { prefix: base + tail, project };
    });
  })
  .filter((all) => new Set(all.map((o) => resolvePrefix(o.prefix, o.project))).size === all.length);

interface Site {
  prefix: string;
  project?: string;
  key: string;
  files: Record<string, string>;
  preview: { name: string; files: Record<string, string> };
}

// Preview names that spell other records: a pointer, a content hash.
const PREVIEW_NAMES = ["manifest", "0123456789abcdef", "a"];

describe("sites sharing a namespace", () => {
  it("never read, trust or delete each other's keys, whatever their prefixes", async () => {
    await fc.assert(
      fc.asyncProperty(sites, fc.boolean(), async (drawn, remote) => {
        const target = memoryTarget({ remote });
        const sites: Site[] = drawn.map((o, i) => ({
          ...o,
          key: resolvePrefix(o.prefix, o.project),
          files: { "/index.html": `site ${i}`, "/a.txt": `a of ${i}` },
          preview: { name: PREVIEW_NAMES[i % PREVIEW_NAMES.length]!, files: {} },
        }));
        for (let round = 0; round < 2; round++) {
          for (const [i, s] of sites.entries()) {
            s.files = { ...s.files, "/a.txt": `a of ${i}, round ${round}` };
            await sync(target, s);
            s.preview.files = { "/p.txt": `preview of ${i}, round ${round}` };
            await syncAssets({
              ...where(target, s),
              files: s.preview.files,
              preview: s.preview.name,
              precompress: false,
              logger: memoryLogger(),
            });
          }
          for (const s of sites) {
            // Every other site has a sync running: none of them may make this prune careful.
            const others = await Promise.all(
              sites.filter((o) => o !== s).map((o) => takeLock(target, o.key, "sync")),
            );
            const logger = memoryLogger();
            await pruneAssets({ ...where(target, s), keep: 1, graceSeconds: 0, logger });
            for (const lock of others) await releaseLock(target, lock);
            expect(logger.lines.join("\n")).not.toMatch(/is running/);
          }
          for (const s of sites) await expectIntact(target, s);
        }
      }),
      { numRuns: 300 },
    );
  });
});

function where(
  target: MemoryTarget,
  s: Site,
): { target: MemoryTarget; prefix: string; project?: string } {
  return { target, prefix: s.prefix, project: s.project };
}

async function sync(target: MemoryTarget, s: Site): Promise<void> {
  await syncAssets({
    ...where(target, s),
    files: s.files,
    precompress: false,
    logger: memoryLogger(),
  });
}

/** The site's newest manifest serves its files, its history is its own, and prune left it only its own keys. */
async function expectIntact(target: MemoryTarget, s: Site): Promise<void> {
  const pointer = await target.getText(pointerKey(s.key));
  expect(pointer, `the pointer of ${JSON.stringify(s.key)}`).not.toBeNull();
  const manifest = JSON.parse(pointer!) as AssetManifest;
  expect(manifest.prefix).toBe(s.key);
  for (const [path, body] of Object.entries(s.files)) {
    const asset = getAsset(manifest, path)!;
    const stored = target.store.get(asset.key);
    expect(stored, `${path} of ${JSON.stringify(s.key)}`).toBeDefined();
    expect(new TextDecoder().decode(stored!.value)).toBe(body);
    expect(asset.key.slice(s.key.length)).toBe(await hashBytes(new TextEncoder().encode(body)));
  }
  const logger = memoryLogger();
  const history = await readHistory(target, s.key, 10, logger);
  expect(logger.lines).toEqual([]);
  expect(history.map((m) => m.prefix)).toEqual([s.key]);
  const previewText = await target.getText(previewKey(s.key, s.preview.name));
  expect(previewText, `the preview of ${JSON.stringify(s.key)}`).not.toBeNull();
  const preview = JSON.parse(previewText!) as AssetManifest;
  expect(preview.prefix).toBe(s.key);
  // Prune still did its job: the site's own content is exactly what its manifest and preview name.
  const named = new Set(Object.keys(s.files).map((path) => getAsset(manifest, path)!.key));
  for (const [path, body] of Object.entries(s.preview.files)) {
    const asset = getAsset(preview, path)!;
    expect(new TextDecoder().decode(target.store.get(asset.key)!.value)).toBe(body);
    named.add(asset.key);
  }
  const own = [...target.store.keys()].filter((key) => isContentKey(s.key, key));
  expect(own.sort()).toEqual([...named].sort());
}

describe("the longest key of a site", () => {
  it("fits KV's 512 bytes at the longest prefix accepted, and one byte more is refused", async () => {
    const longest = `${"p".repeat(475)}/`;
    const target = memoryTarget({ remote: true });
    await syncAssets({ target, prefix: longest, files: { "/a.txt": "a" }, logger: memoryLogger() });
    const lock = await takeLock(target, longest, "prune");
    const keys = [...target.store.keys()];
    await releaseLock(target, lock);
    expect(Math.max(...keys.map((k) => Buffer.byteLength(k)))).toBe(512);
    expect(() => resolvePrefix(`p${longest}`, undefined)).toThrow(
      /prefix is 477 bytes, so keys would reach 513 bytes; KV keys are limited to 512 bytes, so keep the prefix \(with project\/<id>\/\) to 476 bytes/,
    );
  });
});
