// The platform example end to end in workerd: two tenants publish with `kv-assets push` (the
// binary, as a tenant runs it), each is served through its own Dynamic Worker and no other's
// files, and another Worker reads both through the ready asset Worker bound as a service.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Miniflare, type WorkerOptions } from "miniflare";
import { bundledWorker, bundleWorker } from "../../../packages/sync/test/workerd.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const example = join(import.meta.dirname, "..");
const bin = join(example, "..", "..", "node_modules", "@kv-assets", "sync", "dist", "bin.js");
const TOKEN = "test-token";
let mf: Miniflare;
let out: string;
let url: URL;

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), "kv-assets-example-"));
  const bundle = (entry: string) => bundleWorker(join(example, entry), out);
  mf = new Miniflare({
    workers: [
      bundledWorker(await bundle("src/platform.ts"), out, {
        name: "platform",
        kvNamespaces: { ASSETS: "sites" },
        workerLoaders: { LOADER: {} },
        bindings: { UPLOAD_TOKEN: TOKEN },
      } as WorkerOptions),
      bundledWorker(await bundle("src/assets.ts"), out, {
        name: "assets",
        kvNamespaces: { ASSETS: "sites" },
        bindings: { PROJECT_FROM: "host" },
      }),
      bundledWorker(await bundle("test/caller.js"), out, {
        name: "caller",
        serviceBindings: { ASSETS: "assets" },
      }),
    ],
  });
  url = await mf.ready;
  for (const tenant of ["alpha", "beta"]) {
    const site = await mkdtemp(join(tmpdir(), `kv-assets-${tenant}-`));
    await mkdir(join(site, "docs"));
    await writeFile(join(site, "index.html"), `<h1>${tenant}</h1>`);
    await writeFile(join(site, "docs", "index.html"), `<p>${tenant} docs</p>`);
    await writeFile(join(site, `${tenant}-only.txt`), tenant);
    await writeFile(join(site, ".env"), "SECRET=1");
    const pushed = await run(
      process.execPath,
      [bin, "push", site, "--to", new URL("/api/", url).href, "--project", tenant],
      { env: { ...process.env, KV_ASSETS_PUSH_TOKEN: TOKEN } },
    );
    expect(pushed.stdout).toMatch(new RegExp(`pushed 3 files of project ${tenant}`));
    await rm(site, { recursive: true, force: true });
  }
}, 120_000);

afterAll(async () => {
  await mf?.dispose();
  await rm(out, { recursive: true, force: true });
});

async function through(name: string, href: string) {
  const response = await (await mf.getWorker(name)).fetch(href);
  return { status: response.status, text: await response.text() };
}

describe("the platform example", () => {
  it("serves each tenant's site through its own Dynamic Worker", async () => {
    expect(await through("platform", "http://alpha.platform.example/")).toEqual({
      status: 200,
      text: "<h1>alpha</h1>",
    });
    expect((await through("platform", "http://beta.platform.example/docs/")).text).toBe(
      "<p>beta docs</p>",
    );
    expect((await through("platform", "http://alpha.platform.example/hello")).text).toBe(
      "hello from the tenant",
    );
  });

  it("never serves one tenant's files, or a secret, to another", async () => {
    expect((await through("platform", "http://alpha.platform.example/beta-only.txt")).status).toBe(
      404,
    );
    expect((await through("platform", "http://beta.platform.example/alpha-only.txt")).status).toBe(
      404,
    );
    expect((await through("platform", "http://alpha.platform.example/.env")).status).toBe(404);
    expect((await through("platform", "http://gamma.platform.example/")).status).toBe(404);
  });

  it("serves both through the ready asset Worker bound as a service by another Worker", async () => {
    expect(await through("caller", "http://alpha.sites.example/")).toEqual({
      status: 200,
      text: "<h1>alpha</h1>",
    });
    expect((await through("caller", "http://beta.sites.example/beta-only.txt")).text).toBe("beta");
    expect((await through("caller", "http://alpha.sites.example/beta-only.txt")).status).toBe(404);
    expect((await through("caller", "http://beta.sites.example/api/time")).text).toBe(
      "the caller's own route",
    );
  });

  it("refuses a push without the platform's token, naming the status", async () => {
    const site = await mkdtemp(join(tmpdir(), "kv-assets-intruder-"));
    await writeFile(join(site, "index.html"), "<h1>defaced</h1>");
    const refused = await run(
      process.execPath,
      [bin, "push", site, "--to", new URL("/api/", url).href, "--project", "alpha"],
      { env: { ...process.env, KV_ASSETS_PUSH_TOKEN: "wrong" } },
    ).catch((error: { code: number; stderr: string }) => error);
    await rm(site, { recursive: true, force: true });
    expect((refused as { code: number }).code).toBe(1);
    expect((refused as { stderr: string }).stderr).toMatch(
      /answered 403 .*not allowed to publish project alpha/,
    );
    expect((await through("platform", "http://alpha.platform.example/")).text).toBe(
      "<h1>alpha</h1>",
    );
  });
});
