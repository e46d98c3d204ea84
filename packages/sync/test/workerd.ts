// Workers built as wrangler builds them and run in workerd: the packages' workerd builds bundled
// with esbuild, their wasm beside them as a module. For tests and benchmarks that run a Worker
// from Node (a platform's upload API, the platform example).
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare, type WorkerOptions } from "miniflare";

/** Bundles the Worker at `entry` into `out`; resolves the bundle's path. */
export async function bundleWorker(entry: string, out: string): Promise<string> {
  await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*"],
    loader: { ".wasm": "copy" },
    outdir: out,
    logLevel: "error",
  });
  return join(out, entry.replace(/^.*\//, "").replace(/\.[jt]s$/, ".js"));
}

/** Miniflare's options for a bundle {@link bundleWorker} made, with `more` of its own. */
export function bundledWorker(scriptPath: string, out: string, more: WorkerOptions = {}) {
  return {
    modules: true,
    scriptPath,
    modulesRoot: out,
    modulesRules: [
      { type: "ESModule" as const, include: ["**/*.js"] },
      { type: "CompiledWasm" as const, include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-02-01",
    ...more,
  } as WorkerOptions;
}

/**
 * The platform Worker of `platform-worker.js` (the upload API under `/api/` for the token
 * `tenant-token`, sites by `X-Project`) in workerd; `kvPersist` keeps its KV on disk.
 */
export async function startPlatform(kvPersist?: string): Promise<{ mf: Miniflare; out: string }> {
  const out = await mkdtemp(join(tmpdir(), "kv-assets-platform-"));
  const script = await bundleWorker(join(import.meta.dirname, "platform-worker.js"), out);
  const mf = new Miniflare({
    ...bundledWorker(script, out, { kvNamespaces: ["ASSETS"] }),
    ...(kvPersist ? { kvPersist } : {}),
  } as ConstructorParameters<typeof Miniflare>[0]);
  return { mf, out };
}
