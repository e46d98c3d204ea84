import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, validateManifestShape } from "./cli-helpers.js";
import { makeProject } from "./project.js";

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe("kv-assets CLI", () => {
  it.each([["--help"], ["sync", "--help"], ["prune", "--help"]])(
    "prints help for %s and exits 0",
    async (...argv) => {
      const { code, out } = await run(argv);
      expect(code).toBe(0);
      expect(out).toMatch(/Usage:/);
    },
  );

  it.each([
    [["deploy"], /unknown command "deploy"; use "sync" or "prune"/],
    [["sync"], /sync needs exactly one folder/],
    [["sync", "dist", "--bogus"], /Unknown option '--bogus'.* \(see --help\)/],
    [["prune", "--keep", "two"], /--keep takes a whole number, got "two"/],
    [["prune", "dist"], /prune takes no folder/],
  ])("prints one clear line and exits 1 for %j", async (argv, message) => {
    const { code, err } = await run(argv);
    expect(code).toBe(1);
    expect(err).toMatch(message);
    expect(err.trim().split("\n")).toHaveLength(1);
  });

  it("syncs a folder to local KV, writes --out, and prunes with --dry-run", async () => {
    const project = await makeProject({ "index.html": "<h1>cli</h1>" });
    const out = join(project.root, "manifest.json");
    const synced = await run(["sync", project.dist, "--config", project.config, "--out", out]);
    expect(synced.err).toBe("");
    expect(synced.code).toBe(0);
    expect(synced.out).toMatch(/1 files, 1 new/);
    expect(validateManifestShape(JSON.parse(await readFile(out, "utf8")))).toBeUndefined();

    const pruned = await run(["prune", "--config", project.config, "--dry-run"]);
    expect(pruned.code).toBe(0);
    expect(pruned.out).toMatch(/would delete 0 keys/);
  });

  it("exits 1 naming the missing config", async () => {
    const { code, err } = await run(["sync", "/tmp", "--config", "/nonexistent/wrangler.jsonc"]);
    expect(code).toBe(1);
    expect(err).toMatch(/wrangler configuration \/nonexistent\/wrangler.jsonc does not exist/);
  });
});
