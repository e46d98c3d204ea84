// The packages as a user gets them: packed with `npm pack`, installed in a fresh app outside the
// repository, built with `vite build` and synced with the CLI. A file missing from a package's
// `files` fails here.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { compiledManifest, runWorker, watchBuild } from "../../packages/vite/test/build.js";

const run = promisify(execFile);
const NAMESPACE = "00000000000000000000000000000fa1";
const repo = join(import.meta.dirname, "..", "..");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
const CLOUDFLARE_NAMESPACE = "00000000000000000000000000000fa2";
/**
 * Vite majors the plugin supports, each at a version that runs on Node 20, with the
 * @cloudflare/vite-plugin and wrangler that support it: the repository's for Vite 6 and 7, the
 * first of that plugin's with Vite 8 among those on wrangler 4.84 or older for Vite 8.
 */
const VITE_VERSIONS: [string, () => Promise<Versions>][] = [
  ["6", async () => ({ vite: "6.4.6", ...(await repoCloudflare()) })],
  ["7", async () => ({ vite: await installed("vite"), ...(await repoCloudflare()) })],
  [
    "8",
    async () => ({
      vite: "8.4.0",
      cloudflare: "1.33.0",
      wrangler: "4.84.0",
      workersTypes: "4.20260420.1",
    }),
  ],
];

interface Versions {
  vite: string;
  cloudflare: string;
  wrangler: string;
  /** As new as that wrangler asks for. */
  workersTypes: string;
}

async function repoCloudflare(): Promise<Omit<Versions, "vite">> {
  return {
    cloudflare: await installed("@cloudflare/vite-plugin"),
    wrangler: await installed("wrangler"),
    workersTypes: await installed("@cloudflare/workers-types"),
  };
}

/** The version of `name` the repository installed, so the app needs nothing new from the registry. */
async function installed(name: string): Promise<string> {
  const pkg = JSON.parse(
    await readFile(join(repo, "node_modules", name, "package.json"), "utf8"),
  ) as { version: string };
  return pkg.version;
}

let tarballs: string[] = [];

beforeAll(async () => {
  const packs = await mkdtemp(join(tmpdir(), "kv-assets-packs-"));
  for (const name of ["runtime", "sync", "vite"]) {
    const { stdout } = await run("npm", ["pack", "--silent", "--pack-destination", packs], {
      cwd: join(repo, "packages", name),
    });
    tarballs.push(join(packs, stdout.trim().split("\n").at(-1)!));
  }
}, 120_000);

/**
 * A fresh app outside the repository with the packed packages and `versions` installed: at its
 * root the standalone setup, in `cf/` the same site built by @cloudflare/vite-plugin.
 */
async function freshApp(versions: Versions): Promise<string> {
  const app = await mkdtemp(join(tmpdir(), "kv-assets-app-"));
  const worker = [
    'import { createAssetHandler } from "@kv-assets/runtime";',
    'import { env } from "cloudflare:workers";',
    'import manifest from "virtual:kv-manifest";',
    "const assets = createAssetHandler(manifest, env.ASSETS);",
    "export default {",
    "  async fetch(request, _env, ctx) {",
    '    return (await assets(request, ctx)) ?? new Response("Not found", { status: 404 });',
    "  },",
    "};",
  ].join("\n");
  const files: Record<string, string> = {
    "package.json": JSON.stringify({ name: "fresh-app", private: true, type: "module" }),
    "index.html": '<!doctype html><h1>fresh</h1><script type="module" src="/src/main.js"></script>',
    "src/main.js": 'document.body.append("hello");\n',
    "src/worker.js": worker,
    "wrangler.jsonc": JSON.stringify({
      name: "fresh-app",
      main: "dist/worker/index.js",
      compatibility_date: "2026-02-01",
      kv_namespaces: [{ binding: "ASSETS", id: NAMESPACE }],
    }),
    "vite.config.js": [
      'import { defineConfig } from "vite";',
      'import { kvAssets } from "@kv-assets/vite";',
      'export default defineConfig({ plugins: [kvAssets({ worker: "src/worker.js" })] });',
    ].join("\n"),
    "cf/index.html":
      '<!doctype html><h1>fresh</h1><script type="module" src="/src/main.js"></script>',
    "cf/src/main.js": 'document.body.append("hello");\n',
    "cf/src/worker.js": worker,
    "cf/wrangler.jsonc": JSON.stringify({
      name: "fresh-cf",
      main: "./src/worker.js",
      compatibility_date: "2026-02-01",
      kv_namespaces: [{ binding: "ASSETS", id: CLOUDFLARE_NAMESPACE }],
    }),
    "cf/vite.config.js": [
      'import { cloudflare } from "@cloudflare/vite-plugin";',
      'import { defineConfig } from "vite";',
      'import { kvAssets } from "@kv-assets/vite";',
      "export default defineConfig({ plugins: [cloudflare(), kvAssets()] });",
    ].join("\n"),
    "static/site/index.html": "<h1>any folder</h1>",
    // The README's TypeScript setup, checked with tsc.
    "types/worker.ts": [
      'import { createAssetHandler } from "@kv-assets/runtime";',
      'import { env } from "cloudflare:workers";',
      'import manifest from "virtual:kv-manifest";',
      "declare global {",
      "  namespace Cloudflare {",
      "    interface Env {",
      "      ASSETS: KVNamespace;",
      "    }",
      "  }",
      "}",
      "const assets = createAssetHandler(manifest, env.ASSETS);",
      "export default {",
      "  async fetch(request, _env, ctx) {",
      '    return (await assets(request, ctx)) ?? new Response("Not found", { status: 404 });',
      "  },",
      "} satisfies ExportedHandler<Cloudflare.Env>;",
    ].join("\n"),
    "types/tsconfig.json": JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        lib: ["ES2023"],
        module: "ESNext",
        moduleResolution: "Bundler",
        strict: true,
        noEmit: true,
        types: ["@cloudflare/workers-types", "@kv-assets/vite/virtual"],
      },
      include: ["worker.ts"],
    }),
  };
  for (const [path, body] of Object.entries(files)) {
    await mkdir(join(app, path, ".."), { recursive: true });
    await writeFile(join(app, path), body);
  }
  // From the cache `npm ci` filled where it can: only the other Vite majors are downloaded.
  await run(
    "npm",
    [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      ...tarballs,
      `vite@${versions.vite}`,
      `@cloudflare/vite-plugin@${versions.cloudflare}`,
      `wrangler@${versions.wrangler}`,
      `typescript@${await installed("typescript")}`,
      `@cloudflare/workers-types@${versions.workersTypes}`,
    ],
    { cwd: app, env },
  );
  return app;
}

/** Checks that the built Worker serves the page and its script, whose text contains `text`. */
async function expectServed(root: string, script: string, ns: string, text = "hello") {
  const mf = runWorker(root, script, ns);
  try {
    const page = await mf.dispatchFetch("http://localhost/");
    const html = await page.text();
    expect(html).toMatch(/<h1>fresh<\/h1>/);
    const src = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(src).toBeDefined();
    const js = await mf.dispatchFetch(`http://localhost${src}`);
    expect(js.status).toBe(200);
    expect(js.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(await js.text()).toContain(text);
  } finally {
    await mf.dispose();
  }
}

describe.each(VITE_VERSIONS)("the packed packages in a fresh app with Vite %s", (_, versions) => {
  let app: string;
  beforeAll(async () => {
    app = await freshApp(await versions());
  }, 600_000);

  it("build the Worker with the manifest compiled in and sync the client to local KV", async () => {
    const build = await run(process.execPath, ["node_modules/vite/bin/vite.js", "build"], {
      cwd: app,
      env,
    });
    const output = build.stdout + build.stderr;
    expect(output).toMatch(/\[kv-assets\] \d+ files, \d+ new/);
    expect(output).not.toMatch(/deprecated|warning/i);
    expect((await readdir(join(app, "dist", "worker"))).sort()).toEqual([
      "index.js",
      "kv-assets-manifest.txt",
    ]);
    const { stdout } = await run(
      process.execPath,
      [
        "node_modules/wrangler/bin/wrangler.js",
        "kv",
        "key",
        "list",
        "--binding",
        "ASSETS",
        "--local",
      ],
      { cwd: app, env },
    );
    expect(stdout).toContain('"name": "manifest"');
  });

  it("serve the page and its script from local KV through the built Worker", async () => {
    await expectServed(app, "dist/worker/index.js", NAMESPACE);
  });

  it("build with @cloudflare/vite-plugin and serve the page and its script from local KV", async () => {
    const cf = join(app, "cf");
    const build = await run(process.execPath, ["../node_modules/vite/bin/vite.js", "build"], {
      cwd: cf,
      env,
    });
    const output = build.stdout + build.stderr;
    expect(output).toMatch(/\[kv-assets\] \d+ files, \d+ new/);
    expect(output).not.toMatch(/deprecated|warning/i);
    const config = await readFile(join(cf, "dist", "fresh_cf", "wrangler.json"), "utf8");
    expect(JSON.parse(config)).not.toHaveProperty("assets");
    await expectServed(cf, "dist/fresh_cf/index.js", CLOUDFLARE_NAMESPACE);
  });

  it.each([
    ["standalone", ".", "dist/worker", NAMESPACE],
    ["with @cloudflare/vite-plugin", "cf", "dist/fresh_cf", CLOUDFLARE_NAMESPACE],
  ])("serve a client edit after a rebuild of vite build --watch, %s", async (_, dir, out, ns) => {
    const root = join(app, dir);
    const bin = join(app, "node_modules", "vite", "bin", "vite.js");
    // The manifest of an earlier build would look like the first build's being done.
    await rm(join(root, out), { recursive: true, force: true });
    const watcher = watchBuild(root, bin);
    try {
      const manifest = () => compiledManifest(join(root, out));
      await watcher.waitFor(async () => /index\.html/.test(await manifest()), "the first build");
      const before = await manifest();
      await writeFile(join(root, "src", "main.js"), 'document.body.append("edited");\n');
      await watcher.waitFor(async () => (await manifest()) !== before, "the rebuilt manifest");
      await expectServed(root, `${out}/index.js`, ns, "edited");
    } finally {
      await watcher.stop();
    }
  });

  it("give the kv-assets binary, which syncs any folder and says its version", async () => {
    const said = await run("npx", ["kv-assets", "--version"], { cwd: app, env });
    expect(said.stdout.trim()).toBe("0.1.0");
    const sync = await run("npx", ["kv-assets", "sync", "static/site", "--prefix", "other/"], {
      cwd: app,
      env,
    });
    expect(sync.stdout).toMatch(/1 files, 1 new/);
  });

  it("type-check a Worker set up as the README says", async () => {
    await run(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "types"], { cwd: app });
  });

  it("ship a README and a LICENSE in every package", async () => {
    for (const name of ["runtime", "sync", "vite"]) {
      const files = await readdir(join(app, "node_modules", "@kv-assets", name));
      expect(files).toEqual(
        expect.arrayContaining(["README.md", "LICENSE", "package.json", "dist"]),
      );
    }
  });
});
