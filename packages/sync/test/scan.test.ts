import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { contentTypeOf, isCompressible } from "@kv-assets/runtime/publish";
import { scanDirectory } from "../src/scan.js";
import { viteFingerprint } from "@kv-assets/runtime/publish";
import { fromFolder } from "../src/sources.js";
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

  it("fails with a clear message for a missing folder", async () => {
    await expect(scanDirectory("/nonexistent/dist")).rejects.toThrow(
      /output folder \/nonexistent\/dist does not exist/,
    );
  });
});

describe("scanDirectory and links", () => {
  it("publishes a link to a file inside the folder under the link's own path", async () => {
    const project = await makeProject({ "real/a.txt": "a" });
    await symlink("real/a.txt", join(project.dist, "alias.txt"));
    const { files } = await scanDirectory(project.dist);
    expect(files.map((f) => [f.path, f.file])).toEqual([
      ["/alias.txt", join(project.dist, "real", "a.txt")],
      ["/real/a.txt", join(project.dist, "real", "a.txt")],
    ]);
  });

  it.each([
    ["a file outside the folder", () => "../outside.txt", "points outside the folder"],
    ["the process environment", () => "/proc/self/environ", "points outside the folder"],
    ["a secret inside the folder", () => ".env", "points to /.env, which is left out (secret)"],
    [
      "a dotfile inside the folder",
      () => ".git/config",
      "points to /.git/config, which is left out (dotfile)",
    ],
    [
      "an excluded file",
      () => "drafts/a.html",
      "points to /drafts/a.html, which is left out (exclude)",
    ],
    ["a folder", () => "real", "points to a folder; links to folders are not followed"],
    ["nothing", () => "missing.txt", "points to nothing"],
    ["itself", () => "loop.txt", "points to nothing"],
  ])("leaves out and names a link to %s", async (_, target, detail) => {
    const project = await makeProject({
      "index.html": "x",
      ".env": "TOKEN=1",
      ".git/config": "x",
      "drafts/a.html": "x",
      "real/a.txt": "a",
    });
    await writeFile(join(project.root, "outside.txt"), "secret");
    await symlink(target(), join(project.dist, "loop.txt"));
    const { files, skipped } = await scanDirectory(project.dist, { exclude: ["drafts/"] });
    expect(files.map((f) => f.path)).toEqual(["/index.html", "/real/a.txt"]);
    expect(skipped).toContainEqual({ path: "/loop.txt", reason: "link", detail });
  });

  it("never follows a link under a linked folder, and scans a folder that is itself a link", async () => {
    const project = await makeProject({ "site/index.html": "x" });
    await mkdir(join(project.root, "elsewhere"));
    await writeFile(join(project.root, "elsewhere", "secret.txt"), "s");
    await symlink(join(project.root, "elsewhere"), join(project.dist, "site", "linked"));
    await symlink(join(project.dist, "site"), join(project.root, "published"));
    const { files } = await scanDirectory(join(project.root, "published"));
    expect(files.map((f) => f.path)).toEqual(["/index.html"]);
  });

  it("refuses to read a file that became a link after the scan", async () => {
    const project = await makeProject({ "a.txt": "a" });
    await writeFile(join(project.root, "outside.txt"), "secret");
    const scan = await scanDirectory(project.dist);
    await rm(join(project.dist, "a.txt"));
    await symlink(join(project.root, "outside.txt"), join(project.dist, "a.txt"));
    const [source] = fromFolder(scan).files;
    await expect(source!.read()).rejects.toThrow(/cannot read .*a\.txt/);
    expect(() => source!.readSync!()).toThrow(/cannot read .*a\.txt/);
  });
});

describe("scanDirectory and special files", () => {
  it("leaves out a named pipe and a socket without opening them", async () => {
    const project = await makeProject({ "index.html": "x" });
    execFileSync("mkfifo", [join(project.dist, "pipe")]);
    const server = createServer().listen(join(project.dist, "socket"));
    await new Promise((resolve) => server.once("listening", resolve));
    try {
      const { files, skipped } = await scanDirectory(project.dist);
      expect(files.map((f) => f.path)).toEqual(["/index.html"]);
      expect(skipped).toEqual([
        { path: "/pipe", reason: "special", detail: "a named pipe" },
        { path: "/socket", reason: "special", detail: "a socket" },
      ]);
    } finally {
      server.close();
    }
  });
});

describe("scanDirectory and the platform's own files", () => {
  it("never publishes _headers, _redirects, _routes.json or _worker.js at the root", async () => {
    const project = await makeProject({
      _headers: "/*\n  X-Frame-Options: DENY",
      _redirects: "/old /new 301",
      "_routes.json": "{}",
      "_worker.js": "export default {}",
      "index.html": "x",
      "docs/_headers": "published: not at the root",
    });
    const { files, skipped } = await scanDirectory(project.dist);
    expect(files.map((f) => f.path)).toEqual(["/docs/_headers", "/index.html"]);
    expect(skipped.map((s) => [s.path, s.reason])).toEqual([
      ["/_headers", "platform"],
      ["/_redirects", "platform"],
      ["/_routes.json", "platform"],
      ["/_worker.js", "platform"],
    ]);
  });

  it("never publishes a _worker.js folder", async () => {
    const project = await makeProject({ "_worker.js/index.js": "x", "_worker.js/chunk.js": "x" });
    const { files, skipped } = await scanDirectory(project.dist);
    expect(files).toEqual([]);
    expect(skipped.map((s) => s.reason)).toEqual(["platform", "platform"]);
  });
});

describe("scanDirectory and names no URL can reach", () => {
  it.each([
    ["a line feed", "a\nb.txt", "/a\\x0ab.txt", "the name holds control characters"],
    ["a tab", "a\tb.txt", "/a\\x09b.txt", "the name holds control characters"],
    ["a backslash", "a\\b.txt", "/a\\x5cb.txt", "the name holds a backslash"],
  ])("leaves out a name with %s and names it", async (_, name, shown, detail) => {
    const project = await makeProject({ "ok.txt": "x" });
    await writeFile(join(project.dist, name), "x");
    const { files, skipped } = await scanDirectory(project.dist);
    expect(files.map((f) => f.path)).toEqual(["/ok.txt"]);
    expect(skipped).toEqual([{ path: shown, reason: "name", detail }]);
  });

  it("leaves out a file and a folder whose names are not UTF-8", async () => {
    const project = await makeProject({ "ok.txt": "x" });
    const bytes = (name: number[]): Buffer =>
      Buffer.concat([Buffer.from(`${project.dist}/`), Buffer.from(name)]);
    writeFileSync(bytes([0x66, 0xff, 0x2e, 0x74]), "x");
    mkdirSync(bytes([0xc3, 0x28]));
    writeFileSync(Buffer.concat([bytes([0xc3, 0x28]), Buffer.from("/inner.txt")]), "x");
    const { files, skipped } = await scanDirectory(project.dist);
    expect(files.map((f) => f.path)).toEqual(["/ok.txt"]);
    expect(skipped).toEqual([
      {
        path: "/\\xc3(",
        reason: "name",
        detail: "the name is not UTF-8; a folder, with all it holds",
      },
      { path: "/f\\xff.t", reason: "name", detail: "the name is not UTF-8" },
    ]);
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
    ["/favicon.ico", "image/x-icon"],
    ["/live/index.m3u8", "application/vnd.apple.mpegurl"],
    ["/odd.constructor", "application/octet-stream"],
    ["/odd.__proto__", "application/octet-stream"],
    ["/odd.hasOwnProperty", "application/octet-stream"],
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
