// `vite build` interrupted while the plugin syncs, and plugin options refused when the config loads.
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { lockFolder, pointerKey } from "@kv-assets/runtime/format";
import { kvAssets, type KvAssetsOptions } from "@kv-assets/vite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startKvApiEmulator, type KvApiEmulator } from "../../sync/test/kv-api-emulator.js";

const require = createRequire(import.meta.url);
const viteBin = join(require.resolve("vite/package.json"), "..", "bin", "vite.js");

describe("vite build interrupted while the plugin syncs", () => {
  let api: KvApiEmulator;
  let root: string;

  beforeEach(async () => {
    api = await startKvApiEmulator();
    // Inside the repository, so the config resolves the workspace's packages.
    root = await mkdtemp(join(import.meta.dirname, "fixtures", "interrupt-"));
    const files: Record<string, string> = {
      "index.html": '<!doctype html><script type="module" src="/src/main.ts"></script>',
      "src/main.ts": 'document.body.append("hello");\n',
      "src/worker.ts": [
        'import { serveAsset } from "@kv-assets/runtime";',
        'import manifest from "virtual:kv-manifest";',
        "export default { fetch: (request: Request, env: { ASSETS: KVNamespace }) => serveAsset(request, manifest, env.ASSETS) };",
      ].join("\n"),
      "wrangler.jsonc": JSON.stringify({
        name: "interrupt",
        main: "dist/worker/index.js",
        compatibility_date: "2026-02-01",
        account_id: api.accountId,
        kv_namespaces: [{ binding: "ASSETS", id: api.namespaceId }],
      }),
      "vite.config.ts": [
        'import { defineConfig } from "vite";',
        'import { kvAssets } from "@kv-assets/vite";',
        `export default defineConfig({ logLevel: "warn", plugins: [kvAssets({ worker: "src/worker.ts", remote: true, remoteOptions: { apiToken: ${JSON.stringify(api.token)}, baseURL: ${JSON.stringify(api.baseURL)} } })] });`,
      ].join("\n"),
    };
    for (const [path, body] of Object.entries(files)) {
      await mkdir(join(root, path, ".."), { recursive: true });
      await writeFile(join(root, path), body);
    }
    await mkdir(join(root, "public"));
    for (let i = 0; i < 20; i++) await writeFile(join(root, "public", `page-${i}.txt`), `${i}`);
  });

  afterEach(async () => {
    await api.close();
    await rm(root, { recursive: true, force: true });
  });

  it.each(["SIGINT", "SIGTERM"] as const)(
    "%s fails the build with one line, publishes nothing, builds no Worker and releases the lock",
    async (signal) => {
      api.persistentFault = { delayMs: 500 };
      const child = spawn(process.execPath, [viteBin, "build"], {
        cwd: root,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
      // The lock is the first bulk write; the second is the client's content.
      const bulk = (): number =>
        api.requests.filter((r) => r.method === "PUT" && r.path.endsWith("/bulk")).length;
      while (bulk() < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      child.kill(signal);
      const code = await exited;
      await new Promise((resolve) => setImmediate(resolve));
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      // One line, as Vite prints a plugin's error: no stack, no doubled prefix.
      const line = new RegExp(
        `^\\[kv-assets\\] interrupted by ${signal}: nothing was published.*$`,
        "m",
      );
      expect(output).toMatch(line);
      expect(output.slice(output.search(line)).trim().split("\n")).toHaveLength(1);
      expect(api.store.has(pointerKey(""))).toBe(false);
      expect([...api.store.keys()].filter((k) => k.startsWith(lockFolder("")))).toEqual([]);
      expect(await readdir(join(root, "dist")).catch(() => [])).not.toContain("worker");
    },
  );
});

describe("kvAssets options", () => {
  it.each([
    [{ keep: 0 }, /option keep must be a whole number of at least 1 \(got 0\)/],
    [{ keep: "abc" }, /option keep must be a whole number of at least 1 \(got "abc"\)/],
    [{ shardSize: 1.5 }, /option shardSize must be a whole number/],
    [{ prefix: 3 }, /option prefix must be a string/],
    [{ exclude: "drafts/" }, /option exclude must be a list of strings/],
    [{ r2: "BUCKET" }, /option r2 must be \{ binding: "BUCKET", minSize\? \}/],
    [{ remote: "yes" }, /option remote must be a boolean/],
    [{ worker: "" }, /option worker must be a path/],
    [{ brotliQuality: 12 }, /option brotliQuality must be a whole number from 0 to 11 \(got 12\)/],
    [{ retain: { deploys: -1 } }, /option retain.deploys must be a whole number of at least 0/],
    [{ retain: "always" }, /option retain must be false or \{ deploys\?, seconds\? \}/],
    [{ kepe: 3 }, /unknown option "kepe"; the options are .*keep/],
  ])("refuses %j naming the option", (options, message) => {
    expect(() => kvAssets(options as unknown as KvAssetsOptions)).toThrow(message);
  });
});
