import { readdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  createAssetHandler,
  loadManifest,
  type AssetStorage,
  type ManifestStorage,
} from "@kv-assets/runtime";
import { FLAG_BUCKET, getAsset, partKeys, pointerKey } from "@kv-assets/runtime/format";
import { hashBytes } from "@kv-assets/runtime/publish";
import { pruneAssets, syncAssets } from "../src/index.js";
import { memoryTarget } from "./memory-target.js";
import { makeProject, memoryLogger, readLocalBucket, readLocalKv } from "./project.js";

const css = "body { color: rebeccapurple; }\n".repeat(100);

describe("syncAssets to local KV", () => {
  it("uploads every file, its variants and the manifest, readable as wrangler dev reads them", async () => {
    const project = await makeProject({
      "index.html": "<!doctype html><h1>home</h1>",
      "assets/style-Ab12Cd34.css": css,
      "logo.png": new Uint8Array([137, 80, 78, 71, 1, 2, 3]),
    });
    const logger = memoryLogger();
    const { manifest, stats } = await syncAssets({ dir: project.dist, cwd: project.root, logger });
    expect(stats).toMatchObject({ files: 3, newFiles: 3 });
    expect(logger.lines.at(-1)).toMatch(
      /3 files, 3 new .* manifest published to local KV "ASSETS"/,
    );

    const kv = await readLocalKv(project);
    const cssAsset = getAsset(manifest, "/assets/style-Ab12Cd34.css")!;
    expect(cssAsset.immutable).toBe(true);
    expect(cssAsset.contentType).toBe("text/css; charset=utf-8");
    expect(new TextDecoder().decode(kv.get(cssAsset.key))).toBe(css);
    expect(cssAsset.key).toBe(await hashBytes(new TextEncoder().encode(css)));
    const br = cssAsset.variants.find((v) => v.encoding === "br")!;
    const gz = cssAsset.variants.find((v) => v.encoding === "gzip")!;
    expect(brotliDecompressSync(kv.get(br.key)!).toString()).toBe(css);
    expect(gunzipSync(kv.get(gz.key)!).toString()).toBe(css);
    expect(getAsset(manifest, "/logo.png")!.variants).toEqual([]);
    expect(getAsset(manifest, "/index.html")!.immutable).toBe(false);
    expect(JSON.parse(new TextDecoder().decode(kv.get(pointerKey(""))))).toEqual(manifest);
  });

  it("uploads nothing but the manifest when nothing changed, and keeps ETag and Last-Modified", async () => {
    const project = await makeProject({
      "index.html": "<h1>v1</h1>",
      "about.html": "<h1>about</h1>",
    });
    const first = await syncAssets({
      dir: project.dist,
      cwd: project.root,
      logger: memoryLogger(),
    });
    const second = await syncAssets({
      dir: project.dist,
      cwd: project.root,
      logger: memoryLogger(),
    });
    // Only the pointer is written again: an unchanged deploy adds no history record.
    expect(second.stats).toMatchObject({ newFiles: 0, uploadedKeys: 1, uploadedBytes: 0 });
    expect(second.manifest.files).toEqual(first.manifest.files);
    expect(second.manifest.times).toEqual(first.manifest.times);
  });

  it("uploads exactly the changed content and its variants when one file changes", async () => {
    const project = await makeProject({
      "index.html": "<h1>v1</h1>",
      "assets/app-Ab12Cd34.css": css,
    });
    const first = await syncAssets({
      dir: project.dist,
      cwd: project.root,
      logger: memoryLogger(),
    });
    await project.write("assets/app-Ab12Cd34.css", css.replace("rebeccapurple", "tomato"));
    const second = await syncAssets({
      dir: project.dist,
      cwd: project.root,
      logger: memoryLogger(),
    });
    const changed = getAsset(second.manifest, "/assets/app-Ab12Cd34.css")!;
    expect(second.stats.newFiles).toBe(1);
    expect(second.stats.uploadedKeys).toBe(1 + changed.variants.length + 2);
    expect(getAsset(second.manifest, "/index.html")).toEqual(
      getAsset(first.manifest, "/index.html"),
    );
  });

  it("splits a value over the part size into parts that read back in order", async () => {
    const big = new Uint8Array(1000).map((_, i) => (i * 7) % 256);
    const project = await makeProject({ "big.bin": big });
    const { manifest } = await syncAssets({
      dir: project.dist,
      cwd: project.root,
      partSize: 300,
      logger: memoryLogger(),
    });
    const asset = getAsset(manifest, "/big.bin")!;
    const keys = partKeys(asset.key, asset.size, manifest.chunk);
    expect(keys).toHaveLength(4);
    const kv = await readLocalKv(project);
    const joined = Buffer.concat(keys.map((k) => kv.get(k)!));
    expect(new Uint8Array(joined)).toEqual(big);
    expect(kv.has(asset.key)).toBe(false);
  });

  it("publishes in-memory files under a project prefix", async () => {
    const project = await makeProject({});
    const { manifest } = await syncAssets({
      files: { "/index.html": "<h1>tenant</h1>", "/data.json": '{"a":1}' },
      project: "acme-1",
      cwd: project.root,
      logger: memoryLogger(),
    });
    expect(manifest.prefix).toBe("project/acme-1/");
    const kv = await readLocalKv(project);
    expect([...kv.keys()].every((k) => k.startsWith("project/acme-1/"))).toBe(true);
    expect(kv.has("project/acme-1/manifest")).toBe(true);
  });

  it("publishes a large site in shards that loadManifest reads, and re-uploads only changed shards", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 25; i++) files[`page${i}/index.html`] = `<p>page ${i}</p>`;
    const project = await makeProject(files);
    const sync = () =>
      syncAssets({ dir: project.dist, cwd: project.root, shardSize: 10, logger: memoryLogger() });
    const first = await sync();
    expect(first.manifest.shards).toHaveLength(3);

    let kv = await readLocalKv(project);
    const pointer = JSON.parse(text(kv.get(pointerKey(""))));
    expect(pointer.files).toBeUndefined();
    expect(pointer.shards).toEqual(first.manifest.shards);
    const manifest = await loadManifest(mapStorage(kv), { ttl: 0 });
    const response = await createAssetHandler(
      manifest!,
      mapStorage(kv),
    )(new Request("https://site.example/page7/"));
    expect(await response?.text()).toBe("<p>page 7</p>");

    await project.write("page7/index.html", "<p>page 7, edited</p>");
    const second = await sync();
    const changed = second.manifest.shards!.filter((h) => !first.manifest.shards!.includes(h));
    expect(changed).toHaveLength(1);
    // The edited page, its shard, and the two manifest records.
    expect(second.stats.uploadedKeys).toBe(4);

    await pruneAssets({ cwd: project.root, keep: 1, graceSeconds: 0, logger: memoryLogger() });
    kv = await readLocalKv(project);
    for (const hash of second.manifest.shards!) expect(kv.has(hash)).toBe(true);
    const dropped = first.manifest.shards!.filter((h) => !second.manifest.shards!.includes(h));
    for (const hash of dropped) expect(kv.has(hash)).toBe(false);
  });

  it("puts large files whole in local R2 and the rest in KV, and prunes R2 too", async () => {
    const video = new Uint8Array(5000).map((_, i) => i % 251);
    const project = await makeProject(
      { "index.html": "<h1>home</h1>", "video.bin": video },
      {
        kv_namespaces: [{ binding: "ASSETS", id: "0f2ac74b498b48028cb68387c421e279" }],
        r2_buckets: [{ binding: "BUCKET", bucket_name: "site-files" }],
      },
    );
    const sync = () =>
      syncAssets({
        dir: project.dist,
        cwd: project.root,
        r2: { binding: "BUCKET", minSize: 1000 },
        logger: memoryLogger(),
      });
    const first = await sync();
    const videoEntry = first.manifest.files["/video.bin"]!;
    expect(videoEntry[4] & FLAG_BUCKET).toBe(FLAG_BUCKET);
    expect(first.manifest.files["/index.html"]![4] & FLAG_BUCKET).toBe(0);

    const bucket = await readLocalBucket(project);
    expect([...bucket.keys()]).toEqual([videoEntry[0]]);
    expect(bucket.get(videoEntry[0])).toEqual(video);
    const kv = await readLocalKv(project);
    expect(kv.has(videoEntry[0])).toBe(false);

    const again = await sync();
    expect(again.stats.uploadedKeys).toBe(1);

    await project.write(
      "video.bin",
      video.map((b) => 255 - b),
    );
    const third = await sync();
    await pruneAssets({
      cwd: project.root,
      r2: { binding: "BUCKET" },
      keep: 1,
      graceSeconds: 0,
      logger: memoryLogger(),
    });
    const pruned = await readLocalBucket(project);
    expect([...pruned.keys()]).toEqual([third.manifest.files["/video.bin"]![0]]);
  });

  it("refuses the r2 option for a remote sync, saying what to do", async () => {
    const project = await makeProject({ "a.txt": "a" });
    await expect(
      syncAssets({
        dir: project.dist,
        cwd: project.root,
        remote: true,
        r2: { binding: "BUCKET" },
        logger: memoryLogger(),
      }),
    ).rejects.toThrow(/the r2 option writes to local R2 state only/);
  });

  it("uses the namespace wrangler dev uses: preview_id first", async () => {
    const project = await makeProject(
      { "index.html": "x" },
      { kv_namespaces: [{ binding: "SITE", id: "prod-id", preview_id: "preview-id" }] },
    );
    await syncAssets({
      dir: project.dist,
      cwd: project.root,
      binding: "SITE",
      logger: memoryLogger(),
    });
    // The folder of wrangler's own local state that `wrangler dev` reads for this binding.
    const kv = join(project.root, ".wrangler", "state", "v3", "kv");
    expect((await readdir(join(kv, "preview-id", "blobs"))).length).toBeGreaterThan(0);
    expect(await readdir(kv)).not.toContain("prod-id");
  });
});

describe("syncAssets refuses bad input before publishing anything", () => {
  it("names the missing wrangler configuration", async () => {
    const project = await makeProject({ "index.html": "x" });
    await rm(project.config);
    await expect(
      syncAssets({ dir: project.dist, cwd: project.dist, logger: memoryLogger() }),
    ).rejects.toThrow(
      /\[kv-assets\] no wrangler configuration in .*dist or any folder above it; create wrangler.jsonc/,
    );
  });

  it("names the missing binding and the ones that exist", async () => {
    const project = await makeProject(
      { "index.html": "x" },
      { kv_namespaces: [{ binding: "OTHER" }] },
    );
    await expect(
      syncAssets({ dir: project.dist, cwd: project.root, logger: memoryLogger() }),
    ).rejects.toThrow(
      /binding "ASSETS" not found in .*wrangler.jsonc \(KV bindings there: OTHER\); add \{ "binding": "ASSETS" \} under kv_namespaces/,
    );
  });

  it("refuses a file over maxFileSize without writing a manifest", async () => {
    const project = await makeProject({ "small.txt": "x", "huge.bin": new Uint8Array(2048) });
    await expect(
      syncAssets({
        dir: project.dist,
        cwd: project.root,
        maxFileSize: 1024,
        logger: memoryLogger(),
      }),
    ).rejects.toThrow(/\/huge.bin is 2048 bytes, over the 1024-byte limit/);
    const kv = await readLocalKv(project);
    expect(kv.has(pointerKey(""))).toBe(false);
  });

  it("refuses a prefix that would make keys longer than KV's 512 bytes", async () => {
    const project = await makeProject({ "index.html": "x" });
    await expect(
      syncAssets({
        dir: project.dist,
        cwd: project.root,
        prefix: "p".repeat(500),
        logger: memoryLogger(),
      }),
    ).rejects.toThrow(/KV keys are limited to 512 bytes/);
  });

  it.each(["../other", "a/b", "", "x".repeat(65)])("refuses the project id %j", async (project) => {
    await expect(syncAssets({ files: {}, project, logger: memoryLogger() })).rejects.toThrow(
      /project id .* is not valid/,
    );
  });

  it.each(["index.html", "/a/../b", "/a//b", "/dir/"])(
    "refuses the in-memory path %j",
    async (path) => {
      const project = await makeProject({});
      await expect(
        syncAssets({ files: { [path]: "x" }, cwd: project.root, logger: memoryLogger() }),
      ).rejects.toThrow(/is not a clean absolute path/);
    },
  );

  it("warns that it skipped secrets, naming them", async () => {
    const project = await makeProject({
      "index.html": "x",
      ".dev.vars": "TOKEN=1",
      "wrangler.json": "{}",
    });
    const logger = memoryLogger();
    const { manifest } = await syncAssets({ dir: project.dist, cwd: project.root, logger });
    expect(Object.keys(manifest.files)).toEqual(["/index.html"]);
    expect(logger.lines.at(-1)).toMatch(
      /1 files, 1 new .*, 0 unchanged, 2 left out; manifest published/,
    );
    expect(logger.lines[0]).toBe(
      "[kv-assets] never uploading secrets or deploy config: /.dev.vars, /wrangler.json",
    );
  });
});

describe("syncAssets never publishes what is not the site's", () => {
  it("leaves out a link to the process environment while a token is set, and says so", async () => {
    const project = await makeProject({ "index.html": "x" });
    await symlink("/proc/self/environ", join(project.dist, "env.txt"));
    await symlink(".dev.vars", join(project.dist, "vars.txt"));
    await writeFile(join(project.dist, ".dev.vars"), "SECRET=dev-vars-secret-value");
    const saved = process.env.CLOUDFLARE_API_TOKEN;
    process.env.CLOUDFLARE_API_TOKEN = "token-that-must-never-be-uploaded";
    try {
      const logger = memoryLogger();
      const { manifest } = await syncAssets({ dir: project.dist, cwd: project.root, logger });
      expect(Object.keys(manifest.files)).toEqual(["/index.html"]);
      expect(logger.lines).toContain(
        "[kv-assets] left out links that do not point to a file of the site: /env.txt (points outside the folder), /vars.txt (points to /.dev.vars, which is left out (secret))",
      );
      for (const value of (await readLocalKv(project)).values()) {
        const text = Buffer.from(value).toString("latin1");
        expect(text).not.toContain("token-that-must-never-be-uploaded");
        expect(text).not.toContain("dev-vars-secret-value");
      }
    } finally {
      if (saved === undefined) delete process.env.CLOUDFLARE_API_TOKEN;
      else process.env.CLOUDFLARE_API_TOKEN = saved;
    }
  });

  it("applies the folder's rules to files given in memory: no secrets, platform files or dotfiles", async () => {
    const target = memoryTarget();
    const logger = memoryLogger();
    const { manifest, stats } = await syncAssets({
      target,
      files: {
        "/index.html": "x",
        "/.env": "A=1",
        "/_headers": "/*\n  X: y",
        "/_worker.js": "export default {}",
        "/.git/config": "x",
        "/.well-known/security.txt": "x",
      },
      logger,
    });
    expect(Object.keys(manifest.files).sort()).toEqual([
      "/.well-known/security.txt",
      "/index.html",
    ]);
    expect(stats.skipped.map((s) => [s.path, s.reason])).toEqual([
      ["/.env", "secret"],
      ["/_headers", "platform"],
      ["/_worker.js", "platform"],
      ["/.git/config", "dotfile"],
    ]);
    expect(logger.lines[0]).toBe("[kv-assets] never uploading secrets or deploy config: /.env");
  });
});

function text(bytes: Uint8Array | undefined): string {
  return new TextDecoder().decode(bytes);
}

/** Storage over a snapshot of local KV, shaped like the KV binding a Worker gets. */
function mapStorage(kv: Map<string, Uint8Array>): AssetStorage & ManifestStorage {
  return {
    async get(key: string, options: { type: "text" | "stream" | "arrayBuffer" }) {
      const value = kv.get(key);
      if (value === undefined) return null;
      if (options.type === "arrayBuffer") return value.slice().buffer;
      return options.type === "text" ? text(value) : new Response(value).body;
    },
  } as AssetStorage & ManifestStorage;
}
