// `vite build --watch`, as people run it beside `wrangler dev`, standalone and with
// @cloudflare/vite-plugin: after every rebuild the Worker serves the new site from local KV, and a
// failed rebuild keeps the last good one serving.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readManifestText } from "@kv-assets/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compiledManifest, fixtures, runWorker, watchBuild, type WatchBuild } from "./build.js";

describe.each([
  {
    setup: "standalone",
    dir: "standalone",
    worker: "dist/worker",
    ns: "00000000000000000000000000000001",
  },
  {
    setup: "with @cloudflare/vite-plugin",
    dir: "cloudflare",
    worker: "dist/fixture_cloudflare",
    ns: "00000000000000000000000000000002",
  },
])("vite build --watch $setup", ({ dir, worker, ns }) => {
  let root: string;
  let watcher: WatchBuild;
  const manifestText = (): Promise<string> => compiledManifest(join(root, worker));
  const waitFor = (condition: () => Promise<boolean>, what: string): Promise<void> =>
    watcher.waitFor(condition, what);

  /** GETs `path` from the built Worker over the fixture's local KV, as `wrangler dev` would. */
  async function get(path: string): Promise<{ status: number; text: string }> {
    const mf = runWorker(root, `${worker}/index.js`, ns);
    try {
      const response = await mf.dispatchFetch(`http://localhost${path}`);
      return { status: response.status, text: await response.text() };
    } finally {
      await mf.dispose();
    }
  }

  async function page(): Promise<{ html: string; script: string }> {
    const { status, text } = await get("/");
    expect(status).toBe(200);
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(text)?.[1];
    expect(script).toBeDefined();
    return { html: text, script: script! };
  }

  beforeAll(async () => {
    root = await mkdtemp(join(fixtures, "watch-"));
    await cp(join(fixtures, dir), root, {
      recursive: true,
      filter: (path) => !/[\\/](dist|\.wrangler|node_modules)$/.test(path),
    });
    watcher = watchBuild(root);
    await waitFor(async () => (await manifestText()).includes("index.html"), "the first build");
  });

  afterAll(async () => {
    await watcher?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("serves the site once the first build is done", async () => {
    expect(watcher.output()).not.toMatch(/built before the client was synced|error/i);
    const { script } = await page();
    expect((await get(script)).status).toBe(200);
  });

  it("serves a client edit, through a new script, after the rebuild", async () => {
    const before = await manifestText();
    const main = join(root, "src", "main.ts");
    await writeFile(main, `${await readFile(main, "utf8")}\nconsole.log("edited in watch");\n`);
    await waitFor(async () => (await manifestText()) !== before, "the rebuilt manifest");
    const { script } = await page();
    const js = await get(script);
    expect(js.status).toBe(200);
    expect(js.text).toContain("edited in watch");
  });

  it("serves an index.html edit after the rebuild", async () => {
    const before = await manifestText();
    const html = join(root, "index.html");
    await writeFile(html, (await readFile(html, "utf8")).replace(">fixture</h1>", ">renamed</h1>"));
    await waitFor(async () => (await manifestText()) !== before, "the rebuilt manifest");
    expect((await page()).html).toContain(">renamed</h1>");
  });

  it("serves a Worker edit after the rebuild, with the site still there", async () => {
    const before = await manifestText();
    const source = join(root, "src", "worker.ts");
    await writeFile(
      source,
      (await readFile(source, "utf8")).replace('{ hello: "fixture" }', '{ hello: "watched" }'),
    );
    await waitFor(async () => (await get("/api/hello")).text.includes("watched"), "the new Worker");
    expect(await manifestText()).toBe(before);
    expect(readManifestText(before).count).toBeGreaterThan(0);
    expect((await page()).html).toContain(">renamed</h1>");
  });

  it("keeps the last good site serving when a rebuild fails", async () => {
    const before = await manifestText();
    const good = await page();
    const main = join(root, "src", "main.ts");
    const length = watcher.output().length;
    await writeFile(main, `${await readFile(main, "utf8")}\nthis is not TypeScript(\n`);
    await waitFor(async () => /error/i.test(watcher.output().slice(length)), "the error");
    expect(await manifestText()).toBe(before);
    const now = await page();
    expect(now.script).toBe(good.script);
    expect((await get(now.script)).status).toBe(200);
  });
});
