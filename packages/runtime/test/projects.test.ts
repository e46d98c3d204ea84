// Multi-tenant serving: manifests loaded from KV per project, sharded manifests, isolation and AssetBinding.
import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it, vi } from "vitest";
import {
  createAssetHandler,
  loadManifest,
  type AssetManifest,
  type ServeAssetOptions,
  type ShardedManifest,
} from "../src/index.js";
import { previewKey } from "../src/keys.js";
import { shardOf } from "../src/manifest.js";
import { counting, publish, seed, type FixtureFile } from "./fixture.js";

const html = (text: string): FixtureFile => ({ body: text, type: "text/html; charset=utf-8" });

let alpha: AssetManifest;
let beta: AssetManifest;
let large: AssetManifest;
let largeShards: string[];

beforeAll(async () => {
  alpha = await seed(
    env.ASSETS,
    {
      "/index.html": html("alpha home"),
      "/secret.txt": { body: "alpha secret" },
      "/404.html": html("alpha 404"),
    },
    { prefix: "project/alpha/" },
  );
  beta = await seed(
    env.ASSETS,
    { "/index.html": html("beta home"), "/beta-only.txt": { body: "beta file" } },
    { prefix: "project/beta/" },
  );
  await publish(env.ASSETS, alpha);
  await publish(env.ASSETS, beta);

  const files: Record<string, FixtureFile> = { "/404.html": html("large 404") };
  for (let i = 0; i < 120; i++) files[`/pages/p${i}/index.html`] = html(`page ${i}`);
  for (let i = 0; i < 120; i++) files[`/data/${i}.txt`] = { body: `data ${i}` };
  large = await seed(env.ASSETS, files, { prefix: "project/large/" });
  largeShards = await publish(env.ASSETS, large, { shards: 8 });
});

async function serveProject(
  project: string,
  path: string,
  options: ServeAssetOptions = {},
  headers: Record<string, string> = {},
): Promise<{ response: Response | null; reads: string[] }> {
  const storage = counting(env.ASSETS);
  const manifest = await loadManifest(storage, { project, ttl: 0 });
  if (!manifest) return { response: null, reads: storage.reads };
  const handler = createAssetHandler(manifest, storage, options);
  const response = await handler(new Request(`https://tenant.example${path}`, { headers }));
  return { response, reads: storage.reads };
}

describe("loadManifest", () => {
  it("resolves null when the project has published nothing", async () => {
    expect(await loadManifest(env.ASSETS, { project: "nobody" })).toBeNull();
  });

  it("loads a whole manifest published under a project", async () => {
    const manifest = await loadManifest(env.ASSETS, { project: "alpha", ttl: 0 });
    expect(manifest && "files" in manifest && Object.keys(manifest.files)).toEqual([
      "/index.html",
      "/secret.txt",
      "/404.html",
    ]);
  });

  it("loads a preview by name beside the live deploy, and refuses a name no preview can have", async () => {
    const preview = await seed(
      env.ASSETS,
      { "/index.html": html("alpha preview") },
      {
        prefix: "project/alpha/",
      },
    );
    await env.ASSETS.put(previewKey("project/alpha/", "pr-1"), JSON.stringify(preview));
    const loaded = await loadManifest(env.ASSETS, { project: "alpha", preview: "pr-1", ttl: 0 });
    const handler = createAssetHandler(loaded!, env.ASSETS);
    expect(await (await handler(new Request("https://t.example/")))?.text()).toBe("alpha preview");
    const live = await loadManifest(env.ASSETS, { project: "alpha", ttl: 0 });
    expect(live && "files" in live && Object.keys(live.files)).toHaveLength(3);
    expect(
      await loadManifest(env.ASSETS, { project: "alpha", preview: "nope", ttl: 0 }),
    ).toBeNull();
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(
      await loadManifest(env.ASSETS, { project: "alpha", preview: "../x", ttl: 0 }),
    ).toBeNull();
    expect(String(error.mock.calls[0]?.[0])).toMatch(/preview name "..\/x" is not valid/);
    error.mockRestore();
  });

  it("reads KV once per ttl in an isolate", async () => {
    const storage = counting(env.ASSETS);
    const first = await loadManifest(storage, { project: "beta", ttl: 60 });
    const second = await loadManifest(storage, { project: "beta", ttl: 60 });
    expect(second).toBe(first);
    expect(storage.reads).toEqual(["project/beta/manifest"]);
  });

  it("shares one KV read between concurrent loads", async () => {
    const storage = counting(env.ASSETS);
    const loads = await Promise.all(
      Array.from({ length: 5 }, () => loadManifest(storage, { project: "alpha", ttl: 60 })),
    );
    expect(new Set(loads).size).toBe(1);
    expect(storage.reads).toHaveLength(1);
  });

  it("keeps the parsed manifest when the record did not change after the ttl", async () => {
    const storage = counting(env.ASSETS);
    const first = await loadManifest(storage, { project: "alpha", ttl: 0 });
    const second = await loadManifest(storage, { project: "alpha", ttl: 0 });
    expect(second).toBe(first);
    expect(storage.reads).toHaveLength(2);
  });

  it("shows a new deploy once the ttl has passed", async () => {
    const site = await seed(
      env.ASSETS,
      { "/v.txt": { body: "one" } },
      { prefix: "project/moving/" },
    );
    await publish(env.ASSETS, site);
    const storage = counting(env.ASSETS);
    await loadManifest(storage, { project: "moving", ttl: 0 });
    const next = await seed(
      env.ASSETS,
      { "/v.txt": { body: "two" } },
      { prefix: "project/moving/" },
    );
    await publish(env.ASSETS, next);
    const loaded = (await loadManifest(storage, { project: "moving", ttl: 0 })) as AssetManifest;
    expect(loaded.files["/v.txt"]).toEqual(next.files["/v.txt"]);
  });

  it.each([
    ["../alpha"],
    ["alpha/../beta"],
    [""],
    ["a".repeat(65)],
    ["__proto__"],
    ["alpha/"],
    ["al pha"],
    ["alpha\n"],
  ])("refuses the project id %j without reading KV", async (project) => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const storage = counting(env.ASSETS);
    expect(await loadManifest(storage, { project })).toBeNull();
    expect(storage.reads).toEqual([]);
    expect(error.mock.calls[0]?.[0]).toMatch(/project id .* is not valid/);
    error.mockRestore();
  });

  it.each([
    ["not JSON", "{oops", /not JSON/],
    ["another version", JSON.stringify({ v: 2 }), /unsupported version 2/],
    [
      "a bad entry",
      JSON.stringify({ ...baseRecord("project/bad/"), files: { "/a": ["zz", 1] } }),
      /entry for "\/a" is malformed/,
    ],
    [
      "another project's prefix",
      JSON.stringify({ ...baseRecord("project/alpha/"), files: {} }),
      /names prefix "project\/alpha\/", not "project\/bad\/"; refusing/,
    ],
    [
      "an empty prefix",
      JSON.stringify({ ...baseRecord(""), files: {} }),
      /names prefix "", not "project\/bad\/"/,
    ],
    [
      "an index with bad shard hashes",
      JSON.stringify({ ...baseRecord("project/bad/"), shards: ["../x"] }),
      /shards is not a list of hashes/,
    ],
  ])("rejects a record that is %s with one log line", async (_, record, message) => {
    await env.ASSETS.put("project/bad/manifest", record);
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await loadManifest(env.ASSETS, { project: "bad", ttl: 0 })).toBeNull();
    expect(error).toHaveBeenCalledTimes(1);
    expect(error.mock.calls[0]?.[0]).toMatch(message);
    error.mockRestore();
  });

  it("keeps serving the last good deploy when the record turns bad", async () => {
    const site = await seed(
      env.ASSETS,
      { "/ok.txt": { body: "ok" } },
      { prefix: "project/flaky/" },
    );
    await publish(env.ASSETS, site);
    const storage = counting(env.ASSETS);
    const good = await loadManifest(storage, { project: "flaky", ttl: 0 });
    await env.ASSETS.put("project/flaky/manifest", "garbage");
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await loadManifest(storage, { project: "flaky", ttl: 0 })).toBe(good);
    expect(error.mock.calls[0]?.[0]).toMatch(
      /cannot load the manifest at "project\/flaky\/manifest"/,
    );
    error.mockRestore();
  });
});

describe("project isolation", () => {
  it("serves a project's own files", async () => {
    const { response } = await serveProject("alpha", "/secret.txt");
    expect(await response?.text()).toBe("alpha secret");
  });

  it.each([
    "/beta-only.txt",
    "/../beta/beta-only.txt",
    "/%2e%2e/beta/beta-only.txt",
    "/project/beta/beta-only.txt",
    `/project/beta/manifest`,
    "/..%2fbeta%2fbeta-only.txt",
    "//project/beta/beta-only.txt",
    "/__proto__",
    "/constructor",
  ])("never reaches another project's files through %s", async (path) => {
    const { response, reads } = await serveProject("alpha", path);
    expect(response).toBeNull();
    expect(reads.every((key) => key.startsWith("project/alpha/"))).toBe(true);
  });

  it("reads only keys under its own prefix, whatever the request", async () => {
    const { reads } = await serveProject("beta", "/index.html");
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((key) => key.startsWith("project/beta/"))).toBe(true);
  });
});

describe("sharded manifests", () => {
  it("loads only the index, then the one shard a request needs", async () => {
    const path = "/data/7.txt";
    const { response, reads } = await serveProject("large", path);
    expect(await response?.text()).toBe("data 7");
    const shard = `project/large/${largeShards[shardOf(path, 8)]}`;
    expect(reads).toEqual([
      "project/large/manifest",
      shard,
      expect.stringMatching(/^project\/large\/[0-9a-f]{16}$/),
    ]);
  });

  it("reads each shard once per loaded manifest", async () => {
    const storage = counting(env.ASSETS);
    const manifest = (await loadManifest(storage, {
      project: "large",
      ttl: 60,
    })) as ShardedManifest;
    const handler = createAssetHandler(manifest, storage);
    const shardReads = (): string[] =>
      storage.reads.filter((k) => largeShards.some((h) => k.endsWith(h)));
    await (await handler(new Request("https://t.example/data/1.txt")))?.text();
    expect(shardReads()).toHaveLength(1);
    await (await handler(new Request("https://t.example/data/1.txt")))?.text();
    await (
      await createAssetHandler(manifest, storage)(new Request("https://t.example/data/1.txt"))
    )?.text();
    expect(shardReads()).toHaveLength(1);
  });

  it("resolves html handling across shards (/pages/p3 → /pages/p3/index.html)", async () => {
    const redirect = await serveProject("large", "/pages/p3");
    expect(redirect.response?.status).toBe(307);
    expect(redirect.response?.headers.get("Location")).toBe("/pages/p3/");
    const page = await serveProject("large", "/pages/p3/");
    expect(await page.response?.text()).toBe("page 3");
  });

  it("finds the nearest 404 page in another shard", async () => {
    const { response } = await serveProject("large", "/pages/missing/deep", {
      notFoundHandling: "404-page",
      notFoundFor: "all",
    });
    expect(response?.status).toBe(404);
    expect(await response?.text()).toBe("large 404");
  });

  it("answers 304 from the shard without reading the body", async () => {
    const first = await serveProject("large", "/data/3.txt");
    const etag = first.response?.headers.get("ETag") as string;
    await first.response?.text();
    const { response, reads } = await serveProject(
      "large",
      "/data/3.txt",
      {},
      {
        "If-None-Match": etag,
      },
    );
    expect(response?.status).toBe(304);
    expect(reads).toHaveLength(2);
  });

  it("answers 503 with a log line when a shard is missing", async () => {
    const site = await seed(
      env.ASSETS,
      { "/a.txt": { body: "a" }, "/b.txt": { body: "b" } },
      { prefix: "project/holey/" },
    );
    const hashes = await publish(env.ASSETS, site, { shards: 2 });
    await env.ASSETS.delete(`project/holey/${hashes[shardOf("/a.txt", 2)]}`);
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const { response } = await serveProject("holey", "/a.txt");
    expect(response?.status).toBe(503);
    expect(String(error.mock.calls[0]?.[0])).toMatch(
      /manifest shard "project\/holey\/[0-9a-f]{16}" is missing/,
    );
    error.mockRestore();
  });

  it("answers 503 when a shard is malformed", async () => {
    const site = await seed(env.ASSETS, { "/a.txt": { body: "a" } }, { prefix: "project/torn/" });
    const [hash] = await publish(env.ASSETS, site, { shards: 1 });
    await env.ASSETS.put(`project/torn/${hash}`, JSON.stringify({ "/a.txt": ["zz"] }));
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const { response } = await serveProject("torn", "/a.txt");
    expect(response?.status).toBe(503);
    expect(String(error.mock.calls[0]?.[0])).toMatch(
      /is not valid \(entry for "\/a.txt" is malformed\)/,
    );
    error.mockRestore();
  });
});

describe("AssetBinding in a Dynamic Worker", () => {
  it("serves the project named in its props", async () => {
    const response = await SELF.fetch("https://platform.example/dynamic/alpha/secret.txt");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("alpha secret");
  });

  it("answers conditional requests through the binding", async () => {
    const first = await SELF.fetch("https://platform.example/dynamic/beta/beta-only.txt");
    await first.text();
    const second = await SELF.fetch("https://platform.example/dynamic/beta/beta-only.txt", {
      headers: { "If-None-Match": first.headers.get("ETag") as string },
    });
    expect(second.status).toBe(304);
  });

  it.each(["POST", "PUT", "DELETE"])(
    "answers %s with 405 and Allow: GET, HEAD, as Workers Static Assets' binding does",
    async (method) => {
      const response = await SELF.fetch("https://platform.example/dynamic/alpha/secret.txt", {
        method,
        body: method === "DELETE" ? undefined : "x",
      });
      expect(response.status).toBe(405);
      expect(response.headers.get("Allow")).toBe("GET, HEAD");
      await response.text();
    },
  );

  it("answers every miss with the project's 404 page, fetch() calls included", async () => {
    const response = await SELF.fetch("https://platform.example/dynamic/alpha/missing.js", {
      headers: { "Sec-Fetch-Mode": "no-cors" },
    });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("alpha 404");
  });

  it("lets the tenant's own routes run first", async () => {
    const response = await SELF.fetch("https://platform.example/dynamic/alpha/tenant/hello");
    expect(await response.text()).toBe("hello from the tenant");
  });

  it.each([
    "/dynamic/alpha/beta-only.txt",
    "/dynamic/alpha/..%2f..%2fbeta/beta-only.txt",
    "/dynamic/alpha/..%5cbeta/beta-only.txt",
    "/dynamic/alpha/%2fproject%2fbeta%2fbeta-only.txt",
  ])("gives 404 for another project's file at %s", async (path) => {
    const response = await SELF.fetch(`https://platform.example${path}`);
    expect(response.status).toBe(404);
    await response.text();
  });

  it("gives 404 for a project that published nothing, and for an invalid project id", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    for (const project of ["nobody", "..%2Fbeta"]) {
      const response = await SELF.fetch(`https://platform.example/dynamic/${project}/index.html`);
      expect(response.status).toBe(404);
      await response.text();
    }
    error.mockRestore();
  });
});

function baseRecord(prefix: string): Record<string, unknown> {
  return { v: 1, prefix, chunk: 1024, types: ["text/plain"], times: [0] };
}
