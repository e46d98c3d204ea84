// publishProject from inside a Worker: the keys, manifest and locks of the sync, over real KV in
// workerd, and the published project served by loadManifest.
import { env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { createAssetHandler, loadManifest, type AssetManifest } from "../src/index.js";
import { contentKey, historyFolder, lockKey, pointerKey, projectPrefix } from "../src/keys.js";
import { getAsset } from "../src/manifest.js";
import {
  deleteProject,
  pruneProject,
  hashBytes,
  publishProject,
  PublishError,
  type PublishStorage,
} from "../src/publish.js";

const css = "body { color: rebeccapurple; margin: 0 auto; }\n".repeat(60);

/** The KV binding, recording each write and delete in order. */
function recording(): PublishStorage & { writes: string[]; deletes: string[] } {
  const writes: string[] = [];
  const deletes: string[] = [];
  const kv = env.ASSETS;
  return {
    writes,
    deletes,
    get: (key, type) => kv.get(key, type),
    put: async (key, value, options) => {
      writes.push(key);
      await kv.put(key, value, options);
    },
    delete: async (key) => {
      deletes.push(key);
      await kv.delete(key);
    },
    list: (options) => kv.list(options),
  };
}

async function serve(project: string, path: string, headers: Record<string, string> = {}) {
  const manifest = await loadManifest(env.ASSETS, { project, ttl: 0 });
  const handler = createAssetHandler(manifest!, env.ASSETS);
  const response = await handler(new Request(`https://example.com${path}`, { headers }));
  return response!;
}

describe("publishProject", () => {
  it("publishes files any body type gives, served by loadManifest, content keyed by its xxh64", async () => {
    const kv = recording();
    const result = await publishProject(kv, {
      project: "alpha",
      files: {
        "/index.html": "<h1>alpha</h1>",
        "/style.css": css,
        "/data.bin": new Uint8Array([1, 2, 3]),
        "/buffer.txt": new TextEncoder().encode("from a buffer").buffer as ArrayBuffer,
        "/stream.txt": new Blob(["from a stream"]).stream(),
        "/assets/app-Bx3s9Q1k.js": "console.log(1)",
      },
    });
    expect(result.files).toBe(6);
    expect(result.newFiles).toBe(6);
    const prefix = projectPrefix("", "alpha");
    const page = getAsset(result.manifest, "/index.html")!;
    // The xxh64 Node's xxhash-wasm gives these bytes: the key `kv-assets sync` writes for them.
    expect(page.key).toBe(`${prefix}a80594412d089774`);
    expect(page.key).toBe(
      contentKey(prefix, await hashBytes(new TextEncoder().encode("<h1>alpha</h1>"))),
    );
    expect(getAsset(result.manifest, "/assets/app-Bx3s9Q1k.js")!.immutable).toBe(true);
    expect(getAsset(result.manifest, "/style.css")!.contentType).toBe("text/css; charset=utf-8");

    const home = await serve("alpha", "/");
    expect(await home.text()).toBe("<h1>alpha</h1>");
    expect(await (await serve("alpha", "/stream.txt")).text()).toBe("from a stream");
    expect(await (await serve("alpha", "/buffer.txt")).text()).toBe("from a buffer");
    const gz = await serve("alpha", "/style.css", { "Accept-Encoding": "gzip" });
    expect(gz.headers.get("Content-Encoding")).toBe("gzip");
    const decoded = await new Response(
      gz.body!.pipeThrough(new DecompressionStream("gzip")),
    ).text();
    expect(decoded).toBe(css);
  });

  it("writes the history record and then the pointer last, after every body, and removes its lock", async () => {
    const kv = recording();
    await publishProject(kv, { project: "order", files: { "/a.txt": "a", "/b.txt": "b" } });
    const prefix = projectPrefix("", "order");
    expect(kv.writes[0]).toMatch(new RegExp(`^${prefix}locks/sync-`));
    expect(kv.writes.at(-2)!.startsWith(historyFolder(prefix))).toBe(true);
    expect(kv.writes.at(-1)).toBe(pointerKey(prefix));
    expect(kv.deletes).toEqual([kv.writes[0]]);
    expect((await env.ASSETS.list({ prefix: `${prefix}locks/` })).keys).toEqual([]);
  });

  it("renews its lock as a sync does while a long publish runs", async () => {
    const real = Date.now();
    let calls = 0;
    // Each look at the clock is 20 seconds later: the heartbeat falls due every other write.
    const clock = vi.spyOn(Date, "now").mockImplementation(() => real + 20_000 * calls++);
    try {
      const kv = recording();
      const files = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`/f${i}.txt`, `${i}`]));
      await publishProject(kv, { project: "heartbeat", files });
      const lock = kv.writes[0]!;
      expect(kv.writes.filter((key) => key === lock).length).toBeGreaterThan(2);
    } finally {
      clock.mockRestore();
    }
  });

  it("writes only content storage lacks, and carries Last-Modified and variants over", async () => {
    const files = { "/index.html": "<h1>again</h1>", "/style.css": css };
    const first = await publishProject(recording(), { project: "again", files });
    const kv = recording();
    const second = await publishProject(kv, {
      project: "again",
      files: { ...files, "/new.txt": "new" },
    });
    expect(second.newFiles).toBe(1);
    const prefix = projectPrefix("", "again");
    expect(kv.writes.filter((k) => !k.includes("/locks/") && k.startsWith(prefix))).toEqual([
      contentKey(prefix, await hashBytes(new TextEncoder().encode("new"))),
      expect.stringMatching(new RegExp(`^${historyFolder(prefix)}`)),
      pointerKey(prefix),
    ]);
    expect(getAsset(second.manifest, "/style.css")).toEqual(getAsset(first.manifest, "/style.css"));
  });

  it("records no new deploy when nothing changed", async () => {
    const files = { "/index.html": "<h1>same</h1>", "/style.css": css };
    const first = await publishProject(recording(), { project: "same", files });
    const kv = recording();
    const second = await publishProject(kv, { project: "same", files });
    expect(second.manifest).toEqual(first.manifest);
    expect(kv.writes.filter((k) => !k.includes("/locks/"))).toEqual([]);
  });

  it("keeps serving the fingerprinted files the previous deploy had and this one dropped", async () => {
    const old = "/assets/lazy-Ab12Cd34.js";
    await publishProject(recording(), {
      project: "retains",
      files: { "/index.html": "v1", [old]: "old chunk" },
    });
    const second = await publishProject(recording(), {
      project: "retains",
      files: { "/index.html": "v2", "/assets/lazy-Zy98Xw76.js": "new chunk" },
    });
    expect(Object.keys(second.manifest.retained![0]!.files)).toEqual([old]);
    expect(await (await serve("retains", old)).text()).toBe("old chunk");
    const none = await publishProject(recording(), {
      project: "retains",
      files: { "/index.html": "v3" },
      retain: false,
    });
    expect(none.manifest.retained).toBeUndefined();
  });

  it("publishes a large project in shards, as a sync does, and reads them back on the next publish", async () => {
    const files = Object.fromEntries(
      Array.from({ length: 1200 }, (_, i) => [`/pages/p${i}.html`, `<p>${i}</p>`]),
    );
    const first = await publishProject(recording(), { project: "large", files });
    const pointer = JSON.parse((await env.ASSETS.get(pointerKey(projectPrefix("", "large"))))!);
    expect(pointer.shards).toHaveLength(2);
    expect(pointer.files).toBeUndefined();
    expect(await (await serve("large", "/pages/p1199")).text()).toBe("<p>1199</p>");
    const kv = recording();
    const again = await publishProject(kv, { project: "large", files });
    expect(kv.writes.filter((k) => !k.includes("/locks/"))).toEqual([]);
    expect(again.manifest.created).toBe(first.manifest.created);
    // An hour later, one page changes: the others keep the Last-Modified the first deploy gave.
    const later = Date.now() + 3600_000;
    const clock = vi.spyOn(Date, "now").mockImplementation(() => later);
    const changed = await publishProject(recording(), {
      project: "large",
      files: { ...files, "/pages/p0.html": "<p>new</p>" },
    }).finally(() => clock.mockRestore());
    const lastModified = (path: string, m: AssetManifest) => getAsset(m, path)!.lastModified;
    expect(lastModified("/pages/p1.html", changed.manifest)).toBe(
      lastModified("/pages/p1.html", first.manifest),
    );
    expect(lastModified("/pages/p0.html", changed.manifest)).toBe(Math.floor(later / 1000));
  });

  it("keeps each project's keys under its own prefix and never serves another's files", async () => {
    await publishProject(recording(), { project: "one", files: { "/only-one.txt": "one" } });
    await publishProject(recording(), { project: "two", files: { "/only-two.txt": "two" } });
    expect((await serve("one", "/only-one.txt")).status).toBe(200);
    const manifest = (await loadManifest(env.ASSETS, { project: "one", ttl: 0 })) as AssetManifest;
    expect(Object.keys(manifest.files)).toEqual(["/only-one.txt"]);
    for (const key of (await env.ASSETS.list({ prefix: "project/two/" })).keys) {
      expect(key.name.startsWith("project/two/")).toBe(true);
    }
  });

  it("leaves secrets, the platform's files and dotfiles out, and says so", async () => {
    const result = await publishProject(recording(), {
      project: "names",
      files: {
        "/index.html": "ok",
        "/.env": "SECRET=1",
        "/config/.dev.vars": "TOKEN=2",
        "/wrangler.toml": "name = 'x'",
        "/_worker.js": "export default {}",
        "/.git/config": "[core]",
        "/.well-known/security.txt": "Contact: x",
      },
    });
    expect(Object.keys(result.manifest.files).sort()).toEqual([
      "/.well-known/security.txt",
      "/index.html",
    ]);
    expect(result.skipped.map((s) => s.reason).sort()).toEqual([
      "dotfile",
      "platform",
      "secret",
      "secret",
      "secret",
    ]);
  });

  it.each([
    [{ project: "../x", files: {} }, /project id "..\/x" is not valid/],
    [{ project: "ok", files: { "a.txt": "x" } }, /file path "a.txt" is not a clean absolute path/],
    [{ project: "ok", files: { "/a/../b": "x" } }, /file path "\/a\/..\/b" is not a clean/],
    [{ project: "ok", files: { "/dir/": "x" } }, /is not a clean absolute path/],
  ])("refuses %j with one line", async (options, message) => {
    const kv = recording();
    const error = await publishProject(kv, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as Error).message).toMatch(message);
    expect(kv.writes.filter((k) => !k.includes("/locks/"))).toEqual([]);
  });

  it("refuses to publish while a prune of the project runs, and publishes nothing", async () => {
    const prefix = projectPrefix("", "pruned");
    const prune = lockKey(prefix, "prune", Date.now(), "0000abcd");
    await env.ASSETS.put(prune, "{}", { metadata: { t: 0, beat: Date.now() } });
    const kv = recording();
    await expect(
      publishProject(kv, { project: "pruned", files: { "/a.txt": "a" } }),
    ).rejects.toThrow(/a prune of project pruned is running; nothing was published/);
    expect(await env.ASSETS.get(pointerKey(prefix))).toBeNull();
    expect(kv.deletes).toHaveLength(1);
    // A prune lock past its deadline is no prune.
    await env.ASSETS.delete(prune);
    const stale = lockKey(prefix, "prune", Date.now() - 11 * 60 * 1000, "0000abce");
    await env.ASSETS.put(stale, "{}", { metadata: { t: 0, beat: Date.now() } });
    const published = await publishProject(recording(), {
      project: "pruned",
      files: { "/a.txt": "a" },
    });
    expect(published.files).toBe(1);
  });

  it("stores a body larger than partSize in parts the handler joins", async () => {
    const big = new Uint8Array(5000).map((_, i) => (i * 7) % 251);
    const result = await publishProject(recording(), {
      project: "parts",
      files: { "/big.bin": big },
      partSize: 1024,
    });
    expect(result.manifest.chunk).toBe(1024);
    const response = await serve("parts", "/big.bin");
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(big);
  });
});

describe("deleteProject", () => {
  const keysOf = async (project: string) =>
    (await env.ASSETS.list({ prefix: projectPrefix("", project) })).keys.map((k) => k.name);

  it("deletes every key of the project, its manifest record first, and no other project's", async () => {
    const files = {
      "/index.html": "<h1>gone</h1>",
      "/a.txt": "a",
      "/b.txt": "b",
      "/style.css": css,
    };
    await publishProject(recording(), { project: "doomed", files });
    await publishProject(recording(), { project: "doomed", files: { ...files, "/c.txt": "c" } });
    await publishProject(recording(), { project: "kept", files: { "/index.html": "kept" } });
    const before = await keysOf("doomed");
    const kv = recording();
    const first = await deleteProject(kv, "doomed", { limit: 3 });
    expect(first).toEqual({ deleted: 3, done: false });
    expect(kv.deletes[0]).toBe(pointerKey(projectPrefix("", "doomed")));
    expect(await loadManifest(env.ASSETS, { project: "doomed", ttl: 0 })).toBeNull();
    let result = first;
    let calls = 1;
    while (!result.done) {
      result = await deleteProject(recording(), "doomed", { limit: 3 });
      calls += 1;
    }
    expect(calls).toBe(Math.ceil(before.length / 3));
    expect(await keysOf("doomed")).toEqual([]);
    expect(await (await serve("kept", "/")).text()).toBe("kept");
  });

  it("refuses while a publish of the project runs, and deletes nothing", async () => {
    await publishProject(recording(), { project: "busy", files: { "/a.txt": "a" } });
    const prefix = projectPrefix("", "busy");
    const sync = lockKey(prefix, "sync", Date.now(), "0000beef");
    await env.ASSETS.put(sync, "{}", { metadata: { t: 0, beat: Date.now() } });
    const before = await keysOf("busy");
    await expect(deleteProject(recording(), "busy")).rejects.toThrow(
      /a publish of project busy is running; nothing was deleted/,
    );
    expect(await keysOf("busy")).toEqual(before);
    await env.ASSETS.delete(sync);
  });
});

describe("pruneProject", () => {
  const history = async (project: string) =>
    (await env.ASSETS.list({ prefix: historyFolder(projectPrefix("", project)) })).keys.length;
  const stored = async (project: string, text: string) =>
    (await env.ASSETS.get(
      contentKey(projectPrefix("", project), await hashBytes(new TextEncoder().encode(text))),
    )) !== null;

  async function deploys(project: string, count: number): Promise<void> {
    for (let i = 1; i <= count; i++) {
      await publishProject(recording(), { project, files: { "/a.txt": `deploy ${i}` } });
    }
  }

  it("deletes what no kept deploy names and the records past keep, and the site still serves", async () => {
    await deploys("pruned-site", 4);
    const result = await pruneProject(recording(), "pruned-site", { keep: 2, graceSeconds: 0 });
    expect(result).toEqual({ deleted: 2, deletedManifests: 2, done: true });
    expect(await history("pruned-site")).toBe(2);
    expect(await stored("pruned-site", "deploy 1")).toBe(false);
    expect(await stored("pruned-site", "deploy 3")).toBe(true);
    expect(await (await serve("pruned-site", "/a.txt")).text()).toBe("deploy 4");
  });

  it("spares what was uploaded within the grace period", async () => {
    await deploys("graced", 3);
    const result = await pruneProject(recording(), "graced", { keep: 1 });
    expect(result.deleted).toBe(0);
    expect(await stored("graced", "deploy 1")).toBe(true);
  });

  it("goes a bounded number of keys a call, content before the records that named it", async () => {
    await deploys("bounded", 5);
    const kv = recording();
    const first = await pruneProject(kv, "bounded", { keep: 1, graceSeconds: 0, limit: 2 });
    expect(first).toEqual({ deleted: 2, deletedManifests: 0, done: false });
    let result = first;
    while (!result.done) {
      result = await pruneProject(recording(), "bounded", { keep: 1, graceSeconds: 0, limit: 2 });
    }
    expect(await history("bounded")).toBe(1);
    expect(await (await serve("bounded", "/a.txt")).text()).toBe("deploy 5");
  });

  it("keeps every deploy's keys and records while a publish runs", async () => {
    await deploys("careful", 3);
    const prefix = projectPrefix("", "careful");
    const sync = lockKey(prefix, "sync", Date.now(), "0000f00d");
    await env.ASSETS.put(sync, "{}", { metadata: { t: 0, beat: Date.now() } });
    const result = await pruneProject(recording(), "careful", { keep: 1, graceSeconds: 0 });
    await env.ASSETS.delete(sync);
    expect(result).toMatchObject({ deleted: 0, deletedManifests: 0 });
    expect(await history("careful")).toBe(3);
  });
});
