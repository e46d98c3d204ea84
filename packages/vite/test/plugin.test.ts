import { readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "vite";
import { historyFolder, pointerKey, unpackManifest } from "@kv-assets/runtime/format";
import { readManifestText, validateManifest, type AssetManifest } from "@kv-assets/runtime";
import { clean, fixtures, runWorker, viteBuild } from "./build.js";

async function historyCount(root: string, namespaceId: string): Promise<number> {
  const mf = runWorker(root, "dist/worker-probe.js", namespaceId);
  try {
    const kv = await mf.getKVNamespace("ASSETS");
    return (await kv.list({ prefix: historyFolder("") })).keys.length;
  } finally {
    await mf.dispose();
  }
}

/** Every value in the fixture's local KV. */
async function readLocalKv(root: string, namespaceId: string): Promise<Uint8Array[]> {
  const mf = runWorker(root, "dist/worker-probe.js", namespaceId);
  try {
    const kv = await mf.getKVNamespace("ASSETS");
    const { keys } = await kv.list();
    return await Promise.all(
      keys.map(async ({ name }) => new Uint8Array((await kv.get(name, "arrayBuffer"))!)),
    );
  } finally {
    await mf.dispose();
  }
}

async function latestManifest(root: string, namespaceId: string): Promise<AssetManifest> {
  await writeFile(
    join(root, "dist", "worker-probe.js"),
    "export default { fetch() { return new Response(null); } };",
  );
  const mf = runWorker(root, "dist/worker-probe.js", namespaceId);
  try {
    const kv = await mf.getKVNamespace("ASSETS");
    return JSON.parse((await kv.get(pointerKey("")))!) as AssetManifest;
  } finally {
    await mf.dispose();
  }
}

describe.each([
  {
    setup: "standalone (worker option)",
    dir: "standalone",
    script: "dist/worker/index.js",
    ns: "00000000000000000000000000000001",
  },
  {
    setup: "with @cloudflare/vite-plugin",
    dir: "cloudflare",
    script: "dist/fixture_cloudflare/index.js",
    ns: "00000000000000000000000000000002",
  },
])("vite build $setup", ({ dir, script, ns }) => {
  const root = join(fixtures, dir);
  let first: AssetManifest;
  let firstOutput = "";

  beforeAll(async () => {
    await clean(root);
    const build = await viteBuild(root);
    expect(build.output).not.toMatch(/error/i);
    expect(build.code).toBe(0);
    firstOutput = build.output;
    first = await latestManifest(root, ns);
  });

  afterAll(async () => {
    await rm(join(root, "dist", "worker-probe.js"), { force: true });
  });

  it("never puts a secret copied into the output in KV, and says it skipped it", async () => {
    // public/.env.production is copied into the client output by Vite; the sync must skip it.
    expect(Object.keys(first.files)).not.toContain("/.env.production");
    expect(firstOutput).toMatch(/never uploading secrets or deploy config: .*\/\.env\.production/);
    for (const value of await readLocalKv(root, ns)) {
      expect(Buffer.from(value).toString("latin1")).not.toContain("never-published");
    }
  });

  it("syncs every client file to local KV and records a valid manifest", async () => {
    expect(validateManifest(first)).toBeUndefined();
    const paths = Object.keys(first.files).sort();
    expect(paths).toContain("/index.html");
    expect(paths).toContain("/robots.txt");
    expect(paths.some((p) => /^\/assets\/(index|main)-[\w-]{8}\.js$/.test(p))).toBe(true);
    expect(paths.some((p) => p.endsWith(".assetsignore") || p.endsWith("wrangler.json"))).toBe(
      false,
    );
  });

  it.runIf(dir === "standalone")(
    "builds a multi-page site's pages into KV and only the Worker entry into the Worker",
    async () => {
      expect(Object.keys(first.files)).toContain("/about/index.html");
      expect((await readdir(join(root, "dist", "worker"))).sort()).toEqual([
        "index.js",
        "kv-assets-manifest.txt",
      ]);
    },
  );

  it("compiles the same manifest into the Worker bundle, as a Text module beside its code", async () => {
    const code = await readFile(join(root, script), "utf8");
    const specifier = /import \w+ from "(\.\/(?:[\w-]+\/)*kv-assets-manifest[\w-]*\.txt)"/.exec(
      code,
    );
    expect(specifier).not.toBeNull();
    const text = await readFile(join(root, script, "..", specifier![1]!), "utf8");
    const compiled = readManifestText(text);
    expect(compiled.count).toBe(Object.keys(first.files).length);
    expect(unpackManifest(compiled)).toEqual(first);
    // The file list is in the Text module only: the code does not grow with the site.
    expect(code).not.toContain("/robots.txt");
  });

  it("serves the site from KV through the built Worker", async () => {
    const mf = runWorker(root, script, ns);
    try {
      const home = await mf.dispatchFetch("http://localhost/");
      expect(home.status).toBe(200);
      expect(home.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
      expect(await home.text()).toMatch(/<h1 id="title">/);
      const js = Object.keys(first.files).find((p) => p.endsWith(".js"))!;
      const asset = await mf.dispatchFetch(`http://localhost${js}`);
      expect(asset.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
      await asset.arrayBuffer();
      const robots = await mf.dispatchFetch("http://localhost/robots.txt");
      expect(robots.headers.get("Cache-Control")).toBe("public, max-age=0, must-revalidate");
      await robots.arrayBuffer();
      const api = await mf.dispatchFetch("http://localhost/api/hello");
      expect(await api.json()).toEqual({ hello: "fixture" });
    } finally {
      await mf.dispose();
    }
  });

  it("uploads nothing new on a second build with no change, keeping ETags and Last-Modified", async () => {
    const build = await viteBuild(root);
    expect(build.code).toBe(0);
    const second = await latestManifest(root, ns);
    expect(second.files).toEqual(first.files);
    expect(second.times).toEqual(first.times);
    // An unchanged deploy adds no history record.
    expect(await historyCount(root, ns)).toBe(1);
  });
});

describe("vite build with @cloudflare/vite-plugin", () => {
  it("leaves the platform's asset binding out of the deploy config so KV serves the site", async () => {
    const config = JSON.parse(
      await readFile(
        join(fixtures, "cloudflare", "dist", "fixture_cloudflare", "wrangler.json"),
        "utf8",
      ),
    );
    expect(config.assets).toBeUndefined();
    expect(config.kv_namespaces).toEqual([
      { binding: "ASSETS", id: "00000000000000000000000000000002" },
    ]);
  });
});

describe("vite build failures", () => {
  it("fails the build naming the missing binding, and emits no Worker", async () => {
    const root = join(fixtures, "standalone");
    const config = join(root, "vite.missing-binding.config.ts");
    await writeFile(
      config,
      'import { defineConfig } from "vite";\nimport { kvAssets } from "@kv-assets/vite";\nexport default defineConfig({ logLevel: "warn", plugins: [kvAssets({ worker: "src/worker.ts", binding: "MISSING" })] });\n',
    );
    try {
      await clean(root);
      const build = await viteBuild(root, ["-c", config]);
      expect(build.code).not.toBe(0);
      expect(build.output).toMatch(/\[kv-assets\] binding "MISSING" not found in .*wrangler.jsonc/);
      const dist = await readdir(join(root, "dist")).catch(() => []);
      expect(dist).not.toContain("worker");
    } finally {
      await rm(config, { force: true });
      await clean(root);
    }
  });
});

describe("vite build without a worker entry and without @cloudflare/vite-plugin", () => {
  it("syncs the client and says, once, what to add to build the Worker", async () => {
    const root = join(fixtures, "standalone");
    const config = join(root, "vite.no-worker.config.ts");
    await writeFile(
      config,
      'import { defineConfig } from "vite";\nimport { kvAssets } from "@kv-assets/vite";\nexport default defineConfig({ logLevel: "warn", plugins: [kvAssets()] });\n',
    );
    try {
      await clean(root);
      const build = await viteBuild(root, ["-c", config]);
      expect(build.code).toBe(0);
      const warnings = build.output.match(
        /\[kv-assets\] no worker entry: pass kvAssets\(\{ worker: "src\/worker.ts" \}\) or add @cloudflare\/vite-plugin; only the client is synced/g,
      );
      expect(warnings).toHaveLength(1);
      const synced = await latestManifest(root, "00000000000000000000000000000001");
      expect(Object.keys(synced.files)).toContain("/index.html");
    } finally {
      await rm(config, { force: true });
      await clean(root);
    }
  });
});

describe("vite dev", () => {
  it("with @cloudflare/vite-plugin runs the Worker with an empty manifest while Vite serves the client", async () => {
    process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
    const server = await createServer({
      root: join(fixtures, "cloudflare"),
      logLevel: "silent",
      server: { port: 0 },
    });
    try {
      await server.listen();
      const base = server.resolvedUrls!.local[0]!;
      expect(await (await fetch(base)).text()).toMatch(/<h1 id="title">/);
      expect(await (await fetch(`${base}robots.txt`)).text()).toBe("User-agent: *\n");
      expect(await (await fetch(`${base}src/main.ts`)).text()).toMatch(/script ran/);
      expect(await (await fetch(`${base}api/hello`)).json()).toEqual({ hello: "fixture" });
      const missing = await fetch(`${base}missing`);
      expect(missing.status).toBe(404);
      await missing.text();
    } finally {
      await server.close();
    }
  });

  it("provides virtual:kv-manifest (empty) and serves the client itself", async () => {
    const server = await createServer({
      root: join(fixtures, "standalone"),
      logLevel: "silent",
      server: { port: 0 },
    });
    try {
      await server.listen();
      const base = server.resolvedUrls!.local[0]!;
      const page = await fetch(base);
      expect(await page.text()).toMatch(/<h1 id="title">/);
      const module = await server.environments.client.transformRequest("virtual:kv-manifest");
      expect(module?.code).toMatch(/"count":0,"packed":""/);
    } finally {
      await server.close();
    }
  });
});
