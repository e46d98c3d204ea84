// The packages as a user gets them: packed with `npm pack`, installed in a fresh app outside the
// repository, built with `vite build` and synced with the CLI. A file missing from a package's
// `files` fails here.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { runWorker } from "../../packages/vite/test/build.js";

const run = promisify(execFile);
const NAMESPACE = "00000000000000000000000000000fa1";
const repo = join(import.meta.dirname, "..", "..");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
/** Vite majors the plugin supports, each at a version that runs on Node 20. */
const VITE_VERSIONS: [string, () => Promise<string>][] = [
  ["6", async () => "6.4.6"],
  ["7", () => installed("vite")],
  ["8", async () => "8.4.0"],
];

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

/** A fresh app outside the repository with the packed packages and Vite `version` installed. */
async function freshApp(version: string): Promise<string> {
  const app = await mkdtemp(join(tmpdir(), "kv-assets-app-"));
  const files: Record<string, string> = {
    "package.json": JSON.stringify({ name: "fresh-app", private: true, type: "module" }),
    "index.html": '<!doctype html><h1>fresh</h1><script type="module" src="/src/main.js"></script>',
    "src/main.js": 'document.body.append("hello");\n',
    "src/worker.js": [
      'import { createAssetHandler } from "@kv-assets/runtime";',
      'import { env } from "cloudflare:workers";',
      'import manifest from "virtual:kv-manifest";',
      "const assets = createAssetHandler(manifest, env.ASSETS);",
      "export default {",
      "  async fetch(request, _env, ctx) {",
      '    return (await assets(request, ctx)) ?? new Response("Not found", { status: 404 });',
      "  },",
      "};",
    ].join("\n"),
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
      `vite@${version}`,
      `wrangler@${await installed("wrangler")}`,
      `typescript@${await installed("typescript")}`,
      `@cloudflare/workers-types@${await installed("@cloudflare/workers-types")}`,
    ],
    { cwd: app, env },
  );
  return app;
}

describe.each(VITE_VERSIONS)("the packed packages in a fresh app with Vite %s", (_, version) => {
  let app: string;
  beforeAll(async () => {
    app = await freshApp(await version());
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
    const mf = runWorker(app, "dist/worker/index.js", NAMESPACE);
    try {
      const page = await mf.dispatchFetch("http://localhost/");
      const html = await page.text();
      expect(html).toMatch(/<h1>fresh<\/h1>/);
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      const js = await mf.dispatchFetch(`http://localhost${script}`);
      expect(js.status).toBe(200);
      expect(js.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
      await js.arrayBuffer();
    } finally {
      await mf.dispose();
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
