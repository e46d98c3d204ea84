// What a site carries from deploy to deploy: _headers and _redirects, retained files, previews, the history and rollback.
import { execFileSync } from "node:child_process";
import { symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { getAsset, pointerKey, previewKey } from "@kv-assets/runtime/format";
import type { AssetManifest } from "@kv-assets/runtime";
import {
  listDeploys,
  pruneAssets,
  removePreview,
  rollbackDeploy,
  syncAssets,
  type SyncOptions,
} from "../src/index.js";
import { memoryTarget, type MemoryTarget } from "./memory-target.js";
import { makeProject, memoryLogger } from "./project.js";

// The examples of the Workers Static Assets documentation, with a bad line each.
const HEADERS = `/secure/page
  X-Frame-Options: DENY
  nonsense without a colon
/static/*
  Access-Control-Allow-Origin: *
`;
const REDIRECTS = `/home301 / 301
/blog/* https://blog.my.domain/:splat
/a /b 404
`;

afterEach(() => vi.restoreAllMocks());

function pointer(target: MemoryTarget, key = pointerKey("")): AssetManifest {
  return JSON.parse(new TextDecoder().decode(target.store.get(key)!.value)) as AssetManifest;
}

async function deploy(
  target: MemoryTarget,
  files: Record<string, string>,
  options: Partial<SyncOptions> = {},
): Promise<AssetManifest> {
  // Each deploy runs at a later millisecond, so each has a history record of its own.
  await new Promise((resolve) => setTimeout(resolve, 2));
  const { manifest } = await syncAssets({ target, files, logger: memoryLogger(), ...options });
  return manifest;
}

describe("_headers and _redirects", () => {
  it("compiles both into the manifest, naming each bad line with its file and number, and uploads neither", async () => {
    const project = await makeProject({
      "index.html": "<h1>home</h1>",
      _headers: HEADERS,
      _redirects: REDIRECTS,
    });
    const target = memoryTarget();
    const logger = memoryLogger();
    const { manifest } = await syncAssets({ dir: project.dist, target, logger });
    expect(manifest.headers).toEqual([
      { path: "/secure/page", set: { "x-frame-options": "DENY" } },
      { path: "/static/*", set: { "access-control-allow-origin": "*" } },
    ]);
    expect(manifest.redirects).toEqual([
      { from: "/home301", to: "/", status: 301 },
      { from: "/blog/*", to: "https://blog.my.domain/:splat", status: 302 },
    ]);
    expect(Object.keys(manifest.files)).toEqual(["/index.html"]);
    const warnings = logger.lines.filter(
      (l) => /_headers:|_redirects:/.test(l) && /skipped/.test(l),
    );
    expect(warnings).toEqual([
      expect.stringMatching(
        /dist\/_headers:3: expected `Name: value`; skipped `nonsense without a colon`$/,
      ),
      expect.stringMatching(/dist\/_redirects:3: status must be .*; skipped `\/a \/b 404`$/),
    ]);
    expect(logger.lines).toContainEqual(expect.stringMatching(/_headers: 2 header rules$/));
    expect(pointer(target).redirects).toHaveLength(2);
  });

  it("stops before publishing when a file is over the limits", async () => {
    const many = Array.from({ length: 101 }, (_, i) => `/d${i}/* /t`).join("\n");
    const target = memoryTarget();
    await expect(
      syncAssets({
        target,
        files: { "/index.html": "x", "/_redirects": many },
        logger: memoryLogger(),
      }),
    ).rejects.toThrow(/_redirects is over the limits .*100 rules with a splat/);
    expect(target.store.has(pointerKey(""))).toBe(false);
  });

  it("never reads a _headers that links out of the folder", async () => {
    const project = await makeProject({ "index.html": "x" });
    const outside = join(project.root, "secret-rules");
    await writeFile(outside, "/*\n  X-Secret: from outside\n");
    await symlink(outside, join(project.dist, "_headers"));
    const logger = memoryLogger();
    const { manifest } = await syncAssets({ dir: project.dist, target: memoryTarget(), logger });
    expect(manifest.headers).toBeUndefined();
    expect(logger.lines).toContainEqual(
      expect.stringContaining("is a link that does not point to a file in the folder"),
    );
  });

  it("never blocks on a _headers that is a pipe, nor reads a _redirects that is a folder", async () => {
    const project = await makeProject({ "index.html": "x", "_redirects/rules": "/a /b" });
    execFileSync("mkfifo", [join(project.dist, "_headers")]);
    const logger = memoryLogger();
    const { manifest } = await syncAssets({ dir: project.dist, target: memoryTarget(), logger });
    expect(manifest.headers).toBeUndefined();
    expect(manifest.redirects).toBeUndefined();
    expect(logger.lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/_headers is not a regular file; not read$/),
        expect.stringMatching(/_redirects is not a regular file; not read$/),
      ]),
    );
  });

  it("moves the rules under basePath with the files", async () => {
    const { manifest } = await syncAssets({
      target: memoryTarget(),
      basePath: "/app/",
      files: {
        "/index.html": "x",
        "/_headers": "/*\n  X-A: 1\n",
        "/_redirects": "/old /new 301\n",
      },
      logger: memoryLogger(),
    });
    expect(manifest.headers).toEqual([{ path: "/app/*", set: { "x-a": "1" } }]);
    expect(manifest.redirects).toEqual([{ from: "/app/old", to: "/app/new", status: 301 }]);
  });
});

describe("retained files", () => {
  const first = { "/index.html": "v1", "/assets/app-Aa11Bb22.js": "one()", "/robots.txt": "a" };
  const second = { "/index.html": "v2", "/assets/app-Cc33Dd44.js": "two()" };

  it("keeps serving the fingerprinted files the last deploy dropped, and prune keeps their keys", async () => {
    const target = memoryTarget();
    const one = await deploy(target, first);
    const two = await deploy(target, second);
    expect(two.retained).toHaveLength(1);
    // Only fingerprinted files: robots.txt is gone with the deploy that dropped it.
    expect(Object.keys(two.retained![0]!.files)).toEqual(["/assets/app-Aa11Bb22.js"]);
    expect(two.retained![0]!.until).toBe(Math.floor(two.created! / 1000) + 7 * 24 * 3600);
    await pruneAssets({ target, keep: 1, graceSeconds: 0, logger: memoryLogger() });
    const oldKey = getAsset(one, "/assets/app-Aa11Bb22.js")!.key;
    expect(target.store.has(oldKey)).toBe(true);
    expect(target.store.has(getAsset(one, "/robots.txt")!.key)).toBe(false);
  });

  it("lets prune delete them once their time is up", async () => {
    const target = memoryTarget();
    const one = await deploy(target, first);
    await deploy(target, second, { retain: { seconds: 60 } });
    const later = Date.now() + 61_000;
    vi.spyOn(Date, "now").mockReturnValue(later);
    await pruneAssets({ target, keep: 1, graceSeconds: 0, logger: memoryLogger() });
    expect(target.store.has(getAsset(one, "/assets/app-Aa11Bb22.js")!.key)).toBe(false);
  });

  it("keeps at most the groups of `deploys` deploys, newest first", async () => {
    const target = memoryTarget();
    for (let i = 0; i < 4; i++) {
      await deploy(
        target,
        { "/index.html": `v${i}`, [`/assets/c-${"Zz0" + i}abcd.js`]: `c${i}` },
        {
          retain: { deploys: 2 },
        },
      );
    }
    const live = pointer(target);
    expect(live.retained!.map((g) => Object.keys(g.files))).toEqual([
      ["/assets/c-Zz02abcd.js"],
      ["/assets/c-Zz01abcd.js"],
    ]);
  });

  it("retains nothing with retain: false, or when a later deploy has the path again", async () => {
    const target = memoryTarget();
    await deploy(target, first);
    expect((await deploy(target, second, { retain: false })).retained).toBeUndefined();
    expect(
      (await deploy(target, { ...second, "/assets/app-Aa11Bb22.js": "one()" })).retained,
    ).toBeUndefined();
  });
});

describe("content an earlier deploy had", () => {
  it("gets its Last-Modified and variants back when a file returns to it", async () => {
    const target = memoryTarget();
    const css = "body { color: olive }\n".repeat(200);
    const now = vi.spyOn(Date, "now");
    now.mockReturnValue(Date.UTC(2026, 0, 1));
    const one = await deploy(target, { "/style.css": css });
    now.mockReturnValue(Date.UTC(2026, 0, 2));
    await deploy(target, { "/style.css": `${css}/* changed */` });
    now.mockReturnValue(Date.UTC(2026, 0, 3));
    const three = await deploy(target, { "/style.css": css });
    now.mockRestore();
    const [before, after] = [getAsset(one, "/style.css")!, getAsset(three, "/style.css")!];
    expect(after.lastModified).toBe(before.lastModified);
    expect(after.variants).toEqual(before.variants);
  });
});

describe("previews", () => {
  it("publishes beside the live deploy, is kept by prune, and goes once removed", async () => {
    const target = memoryTarget();
    await deploy(target, { "/index.html": "live" });
    const live = pointer(target);
    const preview = await deploy(target, { "/index.html": "preview" }, { preview: "feature-x" });
    expect(pointer(target)).toEqual(live);
    const previewAsset = getAsset(preview, "/index.html")!;
    expect(previewAsset.etag).not.toBe(getAsset(live, "/index.html")!.etag);
    expect(pointer(target, previewKey("", "feature-x")).files["/index.html"]).toBeDefined();
    await pruneAssets({ target, keep: 1, graceSeconds: 0, logger: memoryLogger() });
    expect(target.store.has(previewAsset.key)).toBe(true);
    const listed = await listDeploys({ target });
    expect(listed.previews).toEqual([expect.objectContaining({ name: "feature-x", files: 1 })]);
    await removePreview({ target, name: "feature-x", logger: memoryLogger() });
    await pruneAssets({ target, keep: 1, graceSeconds: 0, logger: memoryLogger() });
    expect(target.store.has(previewAsset.key)).toBe(false);
  });

  it("refuses a name that is not a preview name", async () => {
    await expect(
      syncAssets({
        target: memoryTarget(),
        files: { "/a.txt": "a" },
        preview: "Feature/X",
        logger: memoryLogger(),
      }),
    ).rejects.toThrow(/option preview must be 1-22 lower-case letters/);
  });
});

describe("deploys and rollback", () => {
  it("lists the deploys with what changed and makes the one before the live one live again", async () => {
    const target = memoryTarget();
    const one = await deploy(target, { "/index.html": "v1", "/a.txt": "a" });
    const two = await deploy(target, { "/index.html": "v2", "/b.txt": "b" });
    const { deploys } = await listDeploys({ target });
    expect(deploys).toEqual([
      { created: two.created, files: 2, added: 1, removed: 1, changed: 1, live: true },
      { created: one.created, files: 2, added: 2, removed: 0, changed: 0, live: false },
    ]);
    const logger = memoryLogger();
    await rollbackDeploy({ target, logger });
    expect(pointer(target).created).toBe(one.created);
    expect(logger.lines.join("\n")).toMatch(/is live again .*compiled in/);
    expect((await listDeploys({ target })).deploys.map((d) => d.live)).toEqual([false, true]);
    await rollbackDeploy({ target, created: two.created, logger });
    expect(pointer(target).created).toBe(two.created);
  });

  it("refuses a deploy whose keys a prune deleted, leaving the live one", async () => {
    const target = memoryTarget();
    const one = await deploy(target, { "/index.html": "v1" });
    await deploy(target, { "/index.html": "v2" });
    // keep 1 drops the first deploy's content; put its record back as a history that outlived it.
    const record = [...target.store].find(([k]) => k.startsWith("manifests/"))!;
    await pruneAssets({ target, keep: 1, graceSeconds: 0, logger: memoryLogger() });
    target.store.set(record[0], record[1]);
    await expect(
      rollbackDeploy({ target, created: one.created, logger: memoryLogger() }),
    ).rejects.toThrow(/needs 1 keys that are gone \(pruned\).*the live deploy was left as it is/);
    expect(pointer(target).created).not.toBe(one.created);
  });

  it("says there is nothing to roll back to after one deploy", async () => {
    const target = memoryTarget();
    await deploy(target, { "/index.html": "v1" });
    await expect(rollbackDeploy({ target, logger: memoryLogger() })).rejects.toThrow(
      /no deploy before the live one/,
    );
  });
});
