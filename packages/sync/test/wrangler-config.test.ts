// The wrangler configuration is found and read as wrangler itself finds and reads it, checked with
// the wrangler CLI listing the local state the sync wrote.
import { execFile } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { pointerKey } from "@kv-assets/runtime/format";
import { describe, expect, it } from "vitest";
import { startCli } from "./cli-process.js";
import { makeProject } from "./project.js";

const require = createRequire(import.meta.url);
const wranglerBin = join(require.resolve("wrangler/package.json"), "..", "bin", "wrangler.js");

/** The keys `wrangler kv key list --local` sees for ASSETS, run in `cwd`. */
async function wranglerKeys(cwd: string, env: string[] = []): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [wranglerBin, "kv", "key", "list", "--binding", "ASSETS", "--local", ...env],
    { cwd, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" } },
  );
  return (JSON.parse(stdout.slice(stdout.indexOf("["))) as { name: string }[]).map((k) => k.name);
}

const config = (id: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    name: "site",
    compatibility_date: "2026-02-01",
    kv_namespaces: [{ binding: "ASSETS", id }],
    ...extra,
  });

describe("finding the wrangler configuration", () => {
  it("with wrangler.json and wrangler.jsonc side by side, writes the namespace wrangler reads", async () => {
    const project = await makeProject({ "index.html": "x" });
    await writeFile(join(project.root, "wrangler.jsonc"), config("1".repeat(32)));
    await writeFile(join(project.root, "wrangler.json"), config("2".repeat(32)));
    const run = await startCli(["sync", "dist"], project.root).exited;
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/manifest published/);
    expect(await wranglerKeys(project.root)).toContain(pointerKey(""));
  });

  it("run from a subfolder, finds the configuration above it, as wrangler does", async () => {
    const project = await makeProject({ "index.html": "x" });
    const sub = join(project.root, "scripts");
    await mkdir(sub);
    const run = await startCli(["sync", "../dist"], sub).exited;
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    expect(await wranglerKeys(sub)).toContain(pointerKey(""));
  });

  it("with --env, writes that environment's namespace, as wrangler --env reads it", async () => {
    const project = await makeProject({ "index.html": "x" });
    await writeFile(
      project.config,
      config("1".repeat(32), {
        env: { staging: { kv_namespaces: [{ binding: "ASSETS", id: "3".repeat(32) }] } },
      }),
    );
    const run = await startCli(["sync", "dist", "--env", "staging"], project.root).exited;
    expect(run.code).toBe(0);
    expect(await wranglerKeys(project.root, ["--env", "staging"])).toContain(pointerKey(""));
    expect(await wranglerKeys(project.root)).toEqual([]);
  });
});

describe("a wrangler configuration the sync cannot use", () => {
  it("refuses an --env the file does not define, naming the ones it does", async () => {
    const project = await makeProject({ "index.html": "x" });
    await writeFile(
      project.config,
      config("1".repeat(32), { env: { staging: {}, production: {} } }),
    );
    const run = await startCli(["sync", "dist", "--env", "stagng"], project.root).exited;
    expect(run.code).toBe(1);
    expect(run.err.trim()).toMatch(
      /^\[kv-assets\] environment "stagng" is not defined in .*wrangler\.jsonc \(environments there: staging, production\)/,
    );
    expect(await wranglerKeys(project.root)).not.toContain(pointerKey(""));
  });

  it("keeps the line and column of a syntax error", async () => {
    const project = await makeProject({ "index.html": "x" });
    await writeFile(
      project.config,
      '{\n  "name": "site",\n  "kv_namespaces": [ { "binding": "ASSETS" ]\n}\n',
    );
    const run = await startCli(["sync", "dist"], project.root).exited;
    expect(run.code).toBe(1);
    expect(run.err.trim().split("\n")).toHaveLength(1);
    expect(run.err).toMatch(
      /cannot read .*wrangler\.jsonc:3:\d+: CommaExpected: "kv_namespaces": \[ \{ "binding": "ASSETS" \]; fix the file there/,
    );
  });

  it("names the folder it looked in when there is no configuration", async () => {
    const project = await makeProject({ "index.html": "x" });
    await rm(project.config);
    const run = await startCli(["sync", "dist"], project.root).exited;
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/no wrangler configuration in .* or any folder above it/);
  });
});
