// Isolation of tenants, drawn at random: projects with random ids and paths published from a
// Worker into one namespace, then served, never read or overwrite each other's keys.
import { env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createAssetHandler, loadManifest } from "../src/index.js";
import { projectPrefix } from "../src/keys.js";
import {
  createUploadHandler,
  encodeBodies,
  hashBytes,
  neverPublished,
  publishProject,
  PublishError,
  type PublishStorage,
} from "../src/publish.js";
import { counting } from "./fixture.js";

/** Project ids: valid ones, ones that differ by a character or a prefix, and hostile ones. */
const projectId = fc.oneof(
  fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,8}$/),
  fc.constantFrom("a", "ab", "a-b", "a_b", "A", "project", "locks", "manifest", "history"),
  fc.constantFrom("../a", "a/b", "", "a b", "%2e%2e", "a\u0000", "-a", "x".repeat(65)),
);
/** Paths a tenant might publish: ordinary, shared between tenants, or trying to climb out. */
const filePath = fc.oneof(
  fc.constantFrom("/index.html", "/app.js", "/a/b.txt", "/manifest", "/project/other/x"),
  fc.stringMatching(/^\/[a-z0-9._-]{1,10}(\/[a-z0-9._-]{1,10}){0,2}$/),
  fc.constantFrom("/../manifest", "/a/../../b", "//x", "/%2e%2e/x", "/.env", "/_worker.js"),
);
const tenant = fc.record({
  project: projectId,
  files: fc.dictionary(filePath, fc.string({ maxLength: 30 }), { minKeys: 1, maxKeys: 5 }),
});

/** The KV binding, recording every key written. */
function writing(): PublishStorage & { written: string[] } {
  const written: string[] = [];
  return {
    written,
    get: (key, type) => env.ASSETS.get(key, type),
    put: async (key, value, options) => {
      written.push(key);
      await env.ASSETS.put(key, value, options);
    },
    delete: (key) => env.ASSETS.delete(key),
    list: (options) => env.ASSETS.list(options),
  };
}

/** Each live project serves its own bytes (never a secret), reading only its own keys. */
async function expectServedAlone(live: Map<string, Record<string, string>>): Promise<void> {
  for (const [project, files] of live) {
    const manifest = await loadManifest(env.ASSETS, { project, ttl: 0 });
    expect(manifest).not.toBeNull();
    const storage = counting(env.ASSETS);
    const handler = createAssetHandler(manifest!, storage, { htmlHandling: "none" });
    for (const [path, body] of Object.entries(files)) {
      const response = await handler(new Request(`https://t.example${encodeURI(path)}`));
      // A secret or a platform file is never published, so never served.
      if (neverPublished(path.slice(1))) expect(response?.status ?? 404).not.toBe(200);
      if (response?.status === 200) expect(await response.text()).toBe(body);
      else await response?.arrayBuffer();
    }
    for (const key of storage.reads) {
      expect(key.startsWith(projectPrefix("", project)), key).toBe(true);
    }
  }
}

describe("tenants published from a Worker into one namespace", () => {
  it("write and read only their own keys, and each serves its own bytes", async () => {
    let published = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(tenant, { minLength: 2, maxLength: 4 }), async (tenants) => {
        const live = new Map<string, Record<string, string>>();
        for (const { project, files } of tenants) {
          const kv = writing();
          const result = await publishProject(kv, { project, files }).catch((e: unknown) => e);
          const prefix = projectPrefix("", project);
          // Every key written, refused or not, is under the project's own prefix.
          for (const key of kv.written) expect(key.startsWith(prefix), key).toBe(true);
          if (result instanceof PublishError) continue;
          if (result instanceof Error) throw result;
          published += 1;
          live.set(project, files);
        }
        await expectServedAlone(live);
      }),
      { numRuns: 60 },
    );
    expect(published).toBeGreaterThan(20);
  });
});

describe("tenants published through the upload API into one namespace", () => {
  const upload = createUploadHandler({ authorize: () => true });
  const encoder = new TextEncoder();

  /** Opens a session, uploads what is missing and publishes; the status of the first refusal. */
  async function viaApi(kv: PublishStorage, project: string, files: Record<string, string>) {
    const call = async (method: string, path: string, body?: BodyInit) => {
      const url = `https://platform.example/projects/${encodeURIComponent(project)}/${path}`;
      const response = await upload(new Request(url, { method, body }), kv, undefined);
      return { status: response?.status ?? 404, json: (await response?.json()) as never };
    };
    const bodies = new Map<string, Uint8Array>();
    const list = [];
    for (const [path, text] of Object.entries(files)) {
      const bytes = encoder.encode(text);
      const hash = await hashBytes(bytes);
      bodies.set(hash, bytes);
      list.push({ path, hash, size: bytes.byteLength });
    }
    const opened = await call("POST", "sessions", JSON.stringify({ files: list }));
    if (opened.status !== 201) return opened.status;
    const { session, missing } = opened.json as { session: string; missing: string[] };
    const batch = encodeBodies(missing.map((hash) => ({ hash, bytes: bodies.get(hash)! })));
    const sent = await call("PUT", `sessions/${session}/bodies`, batch);
    if (sent.status !== 200) return sent.status;
    return (await call("POST", `sessions/${session}/publish`)).status;
  }

  it("write and read only their own keys, and each serves its own bytes", async () => {
    let published = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(tenant, { minLength: 2, maxLength: 4 }), async (tenants) => {
        const live = new Map<string, Record<string, string>>();
        for (const { project, files } of tenants) {
          const kv = writing();
          const status = await viaApi(kv, project, files);
          // A refused project id writes nothing; any other key is under the project's prefix.
          for (const key of kv.written) {
            expect(key.startsWith(projectPrefix("", project)), key).toBe(true);
          }
          if (status !== 200) {
            expect([400, 404]).toContain(status);
            continue;
          }
          published += 1;
          live.set(project, files);
        }
        await expectServedAlone(live);
      }),
      { numRuns: 40 },
    );
    expect(published).toBeGreaterThan(10);
  });
});
