import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, validateManifestShape } from "./cli-helpers.js";
import { getAsset, pointerKey, type AssetManifest } from "@kv-assets/runtime/format";
import { makeProject, readLocalKv } from "./project.js";

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe("kv-assets CLI", () => {
  it.each([
    ["--help"],
    ["sync", "--help"],
    ["prune", "--help"],
    ["unlock", "--help"],
    ["deploys", "--help"],
    ["rollback", "--help"],
    ["remove-preview", "--help"],
    ["push", "--help"],
  ])("prints help for %s and exits 0", async (...argv) => {
    const { code, out } = await run(argv);
    expect(code).toBe(0);
    expect(out).toMatch(/Usage:/);
  });

  it.each([
    [
      ["deploy"],
      /unknown command "deploy"; use sync, prune, unlock, deploys, rollback, remove-preview or push/,
    ],
    [["toString"], /unknown command "toString"/],
    [["sync"], /sync needs exactly one folder/],
    [["sync", "dist", "--bogus"], /Unknown option '--bogus'.* \(see --help\)/],
    [["prune", "--keep", "two"], /--keep takes a whole number, got "two"/],
    [["prune", "dist"], /prune takes no folder/],
    [["push", "dist"], /push needs one folder, --to <url> and --project <id>/],
    [
      ["push", "dist", "--to", "http://x", "--project", "a", "--header", "nocolon"],
      /--header takes "Name: value", got "nocolon"/,
    ],
    [["unlock", "dist"], /unlock takes no folder/],
    [
      ["sync", "dist", "--base-path", "app"],
      /basePath "app" is not a clean URL path that starts and ends with "\/", like "\/app\/"/,
    ],
    [["sync", "dist", "--max-file-size", "1e9"], /--max-file-size takes a whole number, got "1e9"/],
    [
      ["sync", "dist", "--precompress", "br,lzma"],
      /--precompress takes encodings of br, zstd and gzip separated by commas, got "br,lzma"/,
    ],
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

  it("lists deploys, publishes a preview beside the live one, and rolls back in local KV", async () => {
    const project = await makeProject({ "index.html": "<h1>one</h1>" });
    const config = ["--config", project.config];
    expect((await run(["sync", project.dist, ...config])).code).toBe(0);
    await project.write("index.html", "<h1>two</h1>");
    await project.write("_redirects", "/old / 301\n/bad\n");
    const second = await run(["sync", project.dist, ...config]);
    expect(second.err).toMatch(/dist\/_redirects:2: expected `from to \[status\]`/);
    await project.write("index.html", "<h1>preview</h1>");
    expect((await run(["sync", project.dist, ...config, "--preview", "pr-7"])).code).toBe(0);

    const listed = await run(["deploys", ...config]);
    const lines = listed.out.trim().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(/^\d+ {2}\S+Z {2}1 files {2}\+0 -0 ~1 {2}\(live\)$/),
      expect.stringMatching(/^\d+ {2}\S+Z {2}1 files {2}\+1 -0 ~0$/),
      expect.stringMatching(/^preview pr-7 {2}\S+Z {2}1 files$/),
    ]);
    const first = lines[1]!.split(" ")[0]!;
    const rolled = await run(["rollback", first, ...config]);
    expect(rolled.code).toBe(0);
    expect(rolled.out).toMatch(/is live again/);
    const kv = await readLocalKv(project);
    const live = JSON.parse(new TextDecoder().decode(kv.get(pointerKey("")))) as AssetManifest;
    expect(String(live.created)).toBe(first);
    expect(live.redirects).toBeUndefined();

    const removed = await run(["remove-preview", "pr-7", ...config]);
    expect(removed.code).toBe(0);
    expect((await run(["remove-preview", "pr-7", ...config])).err).toMatch(
      /there is no preview "pr-7"/,
    );
  });

  it("makes the variants --precompress names, records --digests and drops Accept variants", async () => {
    const css = "body { color: rebeccapurple; }\n".repeat(100);
    const project = await makeProject({
      "style.css": css,
      "photo.jpg": "jpeg",
      "photo.webp": "webp",
    });
    const synced = await run([
      "sync",
      project.dist,
      "--config",
      project.config,
      "--precompress",
      "zstd,br",
      "--digests",
      "--no-accept-variants",
    ]);
    expect(synced.code).toBe(0);
    const kv = await readLocalKv(project);
    const manifest = JSON.parse(new TextDecoder().decode(kv.get(pointerKey(""))!)) as AssetManifest;
    const style = getAsset(manifest, "/style.css")!;
    expect(style.variants.map((v) => v.encoding)).toEqual(["br", "zstd"]);
    expect(style.digest).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(getAsset(manifest, "/photo.jpg")!.alternates).toBeUndefined();
  });

  it("prints its version for --version", async () => {
    const { code, out } = await run(["--version"]);
    expect(code).toBe(0);
    const { version } = JSON.parse(
      await readFile(join(import.meta.dirname, "..", "package.json"), "utf8"),
    ) as { version: string };
    expect(out).toBe(`${version}\n`);
  });

  it("marks the files --immutable names as fingerprinted, and only those", async () => {
    const project = await makeProject({
      "static/app.3f2a9c.js": "x",
      "static/app.js": "y",
      "assets/index-BxT3a9Qz.js": "z",
    });
    const out = join(project.root, "manifest.json");
    const synced = await run([
      "sync",
      project.dist,
      "--config",
      project.config,
      "--out",
      out,
      "--immutable",
      "static/*.*.js",
    ]);
    expect(synced.code).toBe(0);
    const manifest = JSON.parse(await readFile(out, "utf8")) as AssetManifest;
    const immutable = Object.keys(manifest.files).filter(
      (path) => getAsset(manifest, path)!.immutable,
    );
    expect(immutable).toEqual(["/static/app.3f2a9c.js"]);
  });

  it("refuses an empty folder, or one with only dotfiles, unless --allow-empty", async () => {
    const project = await makeProject({ ".DS_Store": "x" });
    const refused = await run(["sync", project.dist, "--config", project.config]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /has no file to publish \(1 left out: \/\.DS_Store\); publishing it would replace the live site with an empty one.*--allow-empty/,
    );
    expect((await readLocalKv(project)).has(pointerKey(""))).toBe(false);

    const allowed = await run(["sync", project.dist, "--config", project.config, "--allow-empty"]);
    expect(allowed.code).toBe(0);
    expect(allowed.out).toMatch(/0 files, 0 new/);
  });

  it("checks that --out can be written before syncing, and keeps an existing file when the sync fails", async () => {
    const project = await makeProject({ "index.html": "<h1>x</h1>" });
    const unwritable = await run([
      "sync",
      project.dist,
      "--config",
      project.config,
      "--out",
      join(project.root, "missing", "manifest.json"),
    ]);
    expect(unwritable.code).toBe(1);
    expect(unwritable.err).toMatch(/cannot write --out .*manifest\.json: .*; nothing was synced/);
    expect((await readLocalKv(project)).has(pointerKey(""))).toBe(false);

    const out = join(project.root, "manifest.json");
    await writeFile(out, "previous");
    await project.write("big.bin", new Uint8Array(100));
    const failed = await run([
      "sync",
      project.dist,
      "--config",
      project.config,
      "--out",
      out,
      "--max-file-size",
      "10",
    ]);
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/\/big\.bin is 100 bytes, over the 10-byte limit/);
    expect(await readFile(out, "utf8")).toBe("previous");
  });

  it("exits 1 naming the missing config", async () => {
    const { code, err } = await run(["sync", "/tmp", "--config", "/nonexistent/wrangler.jsonc"]);
    expect(code).toBe(1);
    expect(err).toMatch(/wrangler configuration \/nonexistent\/wrangler.jsonc does not exist/);
  });
});
