import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { contentTypeOf, isCompressible, scanDirectory, viteFingerprint } from "../src/index.js";
import { makeProject } from "./project.js";

describe("scanDirectory", () => {
  it("lists files as POSIX URL paths and leaves out dotfiles except .well-known", async () => {
    const project = await makeProject({
      "index.html": "<h1>",
      "a b/c.txt": "x",
      "café.txt": "x",
      ".hidden": "x",
      ".git/config": "x",
      ".well-known/security.txt": "x",
    });
    const { files, skipped } = await scanDirectory(project.dist);
    expect(files.map((f) => f.path)).toEqual([
      "/.well-known/security.txt",
      "/a b/c.txt",
      "/café.txt",
      "/index.html",
    ]);
    expect(skipped).toEqual(
      expect.arrayContaining([
        { path: "/.hidden", reason: "dotfile" },
        { path: "/.git/config", reason: "dotfile" },
      ]),
    );
  });

  it("never publishes secrets or deploy config, wherever they are", async () => {
    const project = await makeProject({
      ".dev.vars": "TOKEN=1",
      ".dev.vars.production": "TOKEN=1",
      ".env": "A=1",
      ".env.local": "A=1",
      "wrangler.json": "{}",
      "sub/wrangler.toml": "",
      "wrangler.jsonc": "{}",
      ".well-known/.env": "A=1",
      "ok.txt": "x",
    });
    const { files, skipped } = await scanDirectory(project.dist);
    expect(files.map((f) => f.path)).toEqual(["/ok.txt"]);
    expect(
      skipped
        .filter((s) => s.reason === "secret")
        .map((s) => s.path)
        .sort(),
    ).toEqual([
      "/.dev.vars",
      "/.dev.vars.production",
      "/.env",
      "/.env.local",
      "/.well-known/.env",
      "/sub/wrangler.toml",
      "/wrangler.json",
      "/wrangler.jsonc",
    ]);
  });

  it("leaves out source maps unless includeSourceMaps is set", async () => {
    const project = await makeProject({ "app.js": "x", "app.js.map": "{}" });
    expect((await scanDirectory(project.dist)).files.map((f) => f.path)).toEqual(["/app.js"]);
    expect(
      (await scanDirectory(project.dist, { includeSourceMaps: true })).files.map((f) => f.path),
    ).toEqual(["/app.js", "/app.js.map"]);
  });

  it("honours .assetsignore and the exclude option in gitignore syntax", async () => {
    const project = await makeProject({
      ".assetsignore": "drafts/\n*.psd\n!keep.psd\n",
      "drafts/a.html": "x",
      "art.psd": "x",
      "keep.psd": "x",
      "big/video.mp4": "x",
      "index.html": "x",
    });
    const { files } = await scanDirectory(project.dist, { exclude: ["big/"] });
    expect(files.map((f) => f.path)).toEqual(["/index.html", "/keep.psd"]);
  });

  it("is not fooled by a parent .gitignore that lists the output folder", async () => {
    const project = await makeProject({ "index.html": "x" });
    await writeFile(join(project.root, ".gitignore"), "dist\n");
    expect((await scanDirectory(project.dist)).files).toHaveLength(1);
  });

  it("fails with a clear message for a missing folder and for an unreadable file", async () => {
    await expect(scanDirectory("/nonexistent/dist")).rejects.toThrow(
      /output folder \/nonexistent\/dist does not exist/,
    );
    const project = await makeProject({ "ok.txt": "x" });
    await mkdir(join(project.dist, "sub"));
    await symlink("/nonexistent/target", join(project.dist, "sub", "broken.txt"));
    await expect(scanDirectory(project.dist)).rejects.toThrow(/cannot read .*broken\.txt/);
  });
});

describe("contentTypeOf", () => {
  it.each([
    ["/index.html", "text/html; charset=utf-8"],
    ["/app.js", "text/javascript; charset=utf-8"],
    ["/data.json", "application/json; charset=utf-8"],
    ["/logo.svg", "image/svg+xml; charset=utf-8"],
    ["/photo.png", "image/png"],
    ["/font.woff2", "font/woff2"],
    ["/robots.txt", "text/plain; charset=utf-8"],
    ["/site.webmanifest", "application/manifest+json; charset=utf-8"],
    ["/noextension", "application/octet-stream"],
    ["/archive.unknownext", "application/octet-stream"],
  ])("gives %s the type %s", (path, type) => {
    expect(contentTypeOf(path)).toBe(type);
  });

  it.each([
    ["text/html; charset=utf-8", true],
    ["image/svg+xml; charset=utf-8", true],
    ["application/wasm", true],
    ["image/png", false],
    ["font/woff2", false],
    ["application/octet-stream", false],
  ])("considers %s compressible: %s", (type, expected) => {
    expect(isCompressible(type)).toBe(expected);
  });
});

describe("viteFingerprint", () => {
  const isFingerprinted = viteFingerprint();
  it.each([
    ["/assets/index-BxT3a9Qz.js", true],
    ["/assets/style-D_4kL-9a.css", true],
    ["/assets/nested/logo-abc1efgh.svg", true],
    ["/assets/my-document.pdf", false],
    ["/index-BxT3a9Qz.js", false],
    ["/assets/index.js", false],
  ])("treats %s as fingerprinted: %s", (path, expected) => {
    expect(isFingerprinted(path)).toBe(expected);
  });
});
