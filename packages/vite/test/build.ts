// Runs real `vite build`s of fixture projects and reads back what they left in KV and on disk.
import { execFile, spawn } from "node:child_process";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const require = createRequire(import.meta.url);
const viteBin = join(require.resolve("vite/package.json"), "..", "bin", "vite.js");

export const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** Runs `vite build` in a fixture folder, as a user would, and returns its output and exit code. */
export function viteBuild(
  root: string,
  args: string[] = [],
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [viteBin, "build", ...args],
      { cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" } },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error.code as number) ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

/** Writes a test app's files (path to text) under `root`. */
export async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, body] of Object.entries(files)) {
    await mkdir(join(root, path, ".."), { recursive: true });
    await writeFile(join(root, path), body);
  }
}

/**
 * The Worker of a test app: the site from KV through a handler made with `options` (a source
 * text), anything else "app route".
 */
export function appWorker(options = ""): string {
  return [
    'import { createAssetHandler } from "@kv-assets/runtime";',
    'import manifest from "virtual:kv-manifest";',
    "let assets: ReturnType<typeof createAssetHandler> | undefined;",
    "export default {",
    "  async fetch(request: Request, env: { ASSETS: KVNamespace }) {",
    `    assets ??= createAssetHandler(manifest, env.ASSETS${options ? `, ${options}` : ""});`,
    '    return (await assets(request)) ?? new Response("app route", { status: 404 });',
    "  },",
    "};",
  ].join("\n");
}

/**
 * The wrangler and Vite configs of a standalone test app named `name` whose KV namespace is `ns`;
 * `config` is more of Vite's config, as source (`base: "/app/", `).
 */
export function appConfig(name: string, ns: string, config = ""): Record<string, string> {
  return {
    "wrangler.jsonc": JSON.stringify({
      name,
      main: "dist/worker/index.js",
      compatibility_date: "2026-02-01",
      kv_namespaces: [{ binding: "ASSETS", id: ns }],
    }),
    "vite.config.ts": [
      'import { defineConfig } from "vite";',
      'import { kvAssets } from "@kv-assets/vite";',
      `export default defineConfig({ ${config}logLevel: "warn", plugins: [kvAssets({ worker: "src/worker.ts" })] });`,
    ].join("\n"),
  };
}

/** Removes a fixture's build output and local KV state. */
export async function clean(root: string): Promise<void> {
  await rm(join(root, "dist"), { recursive: true, force: true });
  await rm(join(root, ".wrangler"), { recursive: true, force: true });
}

/** Runs a built Worker in workerd against the fixture's local KV state, as `wrangler dev` would. */
export function runWorker(root: string, script: string, namespaceId: string): Miniflare {
  return new Miniflare({
    modules: true,
    scriptPath: join(root, script),
    // Module names are relative to this; the default, the current folder, may not hold the app.
    modulesRoot: root,
    // As wrangler's default rules: the compiled manifest is a `.txt` import, a Text module.
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "Text", include: ["**/*.txt"] },
    ],
    compatibilityDate: "2026-02-01",
    kvNamespaces: { ASSETS: namespaceId },
    kvPersist: join(root, ".wrangler", "state", "v3", "kv"),
  });
}

/** The manifest compiled into a built Worker's folder, or "" before a build has written it. */
export async function compiledManifest(workerDir: string): Promise<string> {
  for (const folder of [".", "assets"]) {
    const names = await readdir(join(workerDir, folder)).catch(() => [] as string[]);
    const name = names.find((n) => /^kv-assets-manifest.*\.txt$/.test(n));
    if (name) return readFile(join(workerDir, folder, name), "utf8").catch(() => "");
  }
  return "";
}

/** A running `vite build --watch`, with what it has printed so far. */
export interface WatchBuild {
  output(): string;
  /** Resolves once `condition` does, or fails after a minute with the watcher's output. */
  waitFor(condition: () => Promise<boolean>, what: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `vite build --watch` in `root`, with the Vite at `bin` (the repository's by default). */
export function watchBuild(root: string, bin = viteBin): WatchBuild {
  let output = "";
  const watcher = spawn(process.execPath, [bin, "build", "--watch"], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  watcher.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  watcher.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => watcher.once("exit", resolve));
  return {
    output: () => output,
    async waitFor(condition, what) {
      const deadline = Date.now() + 60_000;
      while (!(await condition())) {
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for ${what}; output:\n${output}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop() {
      watcher.kill("SIGTERM");
      await exited;
    },
  };
}
