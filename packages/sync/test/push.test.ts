// `kv-assets push` against a platform's Worker serving createUploadHandler, in workerd: two
// tenants published, each served and isolated, a second push sends nothing, an interrupted one
// resumes.
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushAssets } from "../src/index.js";
import { runCli } from "../src/cli.js";
import { memoryLogger } from "./project.js";
import { startPlatform } from "./workerd.js";

let mf: Miniflare;
let url: URL;
let out: string;
const css = "body { color: rebeccapurple; margin: 0 auto; }\n".repeat(60);

beforeAll(async () => {
  ({ mf, out } = await startPlatform());
  url = await mf.ready;
}, 60_000);

afterAll(async () => {
  await mf?.dispose();
  await rm(out, { recursive: true, force: true });
});

const api = () => new URL("/api/", url).href;
const headers = { Authorization: "Bearer tenant-token" };

async function get(project: string, path: string, extra: Record<string, string> = {}) {
  const response = await fetch(new URL(path, url), { headers: { "X-Project": project, ...extra } });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

describe("pushAssets", () => {
  it("publishes two tenants' sites, each served under its own project and no other", async () => {
    const alpha = await pushAssets({
      url: api(),
      project: "alpha",
      headers,
      files: { "/index.html": "<h1>alpha</h1>", "/style.css": css, "/.env": "SECRET=1" },
      logger: memoryLogger(),
    });
    expect(alpha.files).toBe(2);
    await pushAssets({
      url: api(),
      project: "beta",
      headers,
      files: { "/index.html": "<h1>beta</h1>", "/only-beta.txt": "b" },
      logger: memoryLogger(),
    });
    expect((await get("alpha", "/")).text).toBe("<h1>alpha</h1>");
    expect((await get("beta", "/")).text).toBe("<h1>beta</h1>");
    expect((await get("alpha", "/only-beta.txt")).status).toBe(404);
    expect((await get("alpha", "/.env")).status).toBe(404);
    // The br variant the client made is served as it made it.
    const br = await get("alpha", "/style.css", { "Accept-Encoding": "br" });
    expect(br.status).toBe(200);
  });

  it("sends nothing the Worker already has on a second push", async () => {
    const files = { "/index.html": "<h1>again</h1>", "/style.css": css };
    const first = await pushAssets({
      url: api(),
      project: "again",
      headers,
      files,
      logger: memoryLogger(),
    });
    expect(first.uploaded).toBe(4); // two files, the stylesheet's br and gzip
    const second = await pushAssets({
      url: api(),
      project: "again",
      headers,
      files,
      logger: memoryLogger(),
    });
    expect(second).toMatchObject({ uploaded: 0, batches: 0 });
    // Nothing changed, so no new deploy was recorded: the live one stays.
    expect(second.created).toBe(first.created);
  });

  it("fails with one line when interrupted between batches, and resumes with only what was left", async () => {
    const files = Object.fromEntries(
      Array.from({ length: 6 }, (_, i) => [`/f${i}.txt`, `file ${i} `.repeat(50)]),
    );
    let bodyRequests = 0;
    const failing: typeof fetch = async (input, init) => {
      if (String(input).endsWith("/bodies") && ++bodyRequests === 2)
        throw new Error("connection reset");
      return fetch(input, init);
    };
    await expect(
      pushAssets({
        url: api(),
        project: "resume",
        headers,
        files,
        batchBytes: 600,
        precompress: false,
        fetch: failing,
        logger: memoryLogger(),
      }),
    ).rejects.toThrow(
      /could not reach .*connection reset.*nothing was published, push again to resume/,
    );
    expect((await get("resume", "/f0.txt")).status).toBe(404);
    const resumed = await pushAssets({
      url: api(),
      project: "resume",
      headers,
      files,
      batchBytes: 600,
      precompress: false,
      logger: memoryLogger(),
    });
    expect(resumed.uploaded).toBeLessThan(6);
    expect(resumed.uploaded).toBeGreaterThan(0);
    expect((await get("resume", "/f5.txt")).text).toBe("file 5 ".repeat(50));
  });

  it("says what the Worker refused, by status, and publishes nothing", async () => {
    await expect(
      pushAssets({
        url: api(),
        project: "alpha",
        headers: {},
        files: { "/a": "a" },
        logger: memoryLogger(),
      }),
    ).rejects.toThrow(
      /answered 403 to POST sessions: not allowed to publish project alpha; nothing was published/,
    );
  });
});

describe("kv-assets push", () => {
  it("publishes a folder with the token from KV_ASSETS_PUSH_TOKEN", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kv-assets-push-"));
    await mkdir(join(dir, "docs"));
    await writeFile(join(dir, "index.html"), "<h1>from the cli</h1>");
    await writeFile(join(dir, "docs", "page.html"), "<p>docs</p>");
    let printed = "";
    let err = "";
    process.env.KV_ASSETS_PUSH_TOKEN = "tenant-token";
    try {
      const code = await runCli(["push", dir, "--to", api(), "--project", "cli"], {
        stdout: (t) => (printed += t),
        stderr: (t) => (err += t),
      });
      expect(err).toBe("");
      expect(code).toBe(0);
    } finally {
      delete process.env.KV_ASSETS_PUSH_TOKEN;
      await rm(dir, { recursive: true, force: true });
    }
    expect(printed).toMatch(/pushed 2 files of project cli/);
    expect((await get("cli", "/docs/page")).text).toBe("<p>docs</p>");
  });
});
