// The upload API a platform's Worker serves: sessions over several requests, in workerd with
// real KV, then the project served by loadManifest.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createAssetHandler, loadManifest } from "../src/index.js";
import { contentKey, projectPrefix, uploadKey } from "../src/keys.js";
import {
  createUploadHandler,
  encodeBodies,
  hashBytes,
  MAX_BATCH_BODIES,
  type UploadFile,
} from "../src/publish.js";

const TOKEN = "secret-token";
const handler = createUploadHandler({
  authorize: (request) => request.headers.get("Authorization") === `Bearer ${TOKEN}`,
  quota: { files: 50, bytes: 100_000 },
  basePath: "/api/",
});
const encoder = new TextEncoder();

async function call(method: string, path: string, body?: BodyInit, token = TOKEN) {
  const request = new Request(`https://platform.example/api/${path}`, {
    method,
    body,
    headers: { Authorization: `Bearer ${token}` },
  });
  const response = (await handler(request, env.ASSETS, undefined))!;
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function listed(files: Record<string, string>) {
  const bodies = new Map<string, Uint8Array>();
  const list: UploadFile[] = [];
  for (const [path, text] of Object.entries(files)) {
    const bytes = encoder.encode(text);
    const hash = await hashBytes(bytes);
    bodies.set(hash, bytes);
    list.push({ path, hash, size: bytes.byteLength });
  }
  return { list, bodies };
}

async function served(project: string, path: string): Promise<string | null> {
  const manifest = await loadManifest(env.ASSETS, { project, ttl: 0 });
  const response = await createAssetHandler(
    manifest!,
    env.ASSETS,
  )(new Request(`https://t.example${path}`));
  return response?.status === 200 ? response.text() : null;
}

describe("createUploadHandler", () => {
  it("publishes a project over a session: list, upload what is missing in batches, publish", async () => {
    const { list, bodies } = await listed({
      "/index.html": "<h1>uploaded</h1>",
      "/a.txt": "a",
      "/b.txt": "b",
      "/.env": "SECRET=1",
    });
    const opened = await call("POST", "projects/up/sessions", JSON.stringify({ files: list }));
    expect(opened.status).toBe(201);
    expect(opened.json.skipped).toEqual(["/.env"]);
    const missing = opened.json.missing as string[];
    expect(missing).toHaveLength(3);
    const session = opened.json.session as string;
    // Two batches, as a client spreads a large project over several requests.
    for (const batch of [missing.slice(0, 2), missing.slice(2)]) {
      const body = encodeBodies(batch.map((hash) => ({ hash, bytes: bodies.get(hash)! })));
      const sent = await call("PUT", `projects/up/sessions/${session}/bodies`, body);
      expect(sent).toEqual({ status: 200, json: { stored: batch.length } });
    }
    const published = await call("POST", `projects/up/sessions/${session}/publish`);
    expect(published.status).toBe(200);
    expect(published.json.files).toBe(3);
    expect(await served("up", "/")).toBe("<h1>uploaded</h1>");
    expect(await served("up", "/.env")).toBeNull();
    expect(await env.ASSETS.get(uploadKey(projectPrefix("", "up"), session))).toBeNull();
  });

  it("asks only for what storage lacks, so an interrupted upload resumes in a new session", async () => {
    const { list, bodies } = await listed({ "/one.txt": "one", "/two.txt": "two" });
    const first = await call("POST", "projects/resume/sessions", JSON.stringify({ files: list }));
    const [hash] = first.json.missing as string[];
    await call(
      "PUT",
      `projects/resume/sessions/${first.json.session as string}/bodies`,
      encodeBodies([{ hash: hash!, bytes: bodies.get(hash!)! }]),
    );
    // The client stops here; a publish now is refused with what is missing.
    const early = await call(
      "POST",
      `projects/resume/sessions/${first.json.session as string}/publish`,
    );
    expect(early.status).toBe(409);
    expect(early.json.missing).toHaveLength(1);
    const again = await call("POST", "projects/resume/sessions", JSON.stringify({ files: list }));
    expect(again.json.missing).toEqual((first.json.missing as string[]).slice(1));
  });

  it.each([
    ["a wrong token", () => call("POST", "projects/p/sessions", "{}", "wrong"), 403, /not allowed/],
    ["a bad project id", () => call("POST", "projects/..%2Fx/sessions", "{}"), 400, /project id/],
    [
      "a body that is not a file list",
      () => call("POST", "projects/p/sessions", "[]"),
      400,
      /\{ files/,
    ],
    [
      "a path that is not clean",
      () =>
        call(
          "POST",
          "projects/p/sessions",
          JSON.stringify({ files: [{ path: "/a/../b", hash: "0".repeat(16), size: 1 }] }),
        ),
      400,
      /is not \{ path, hash, size \}/,
    ],
    [
      "more files than the quota",
      () =>
        call(
          "POST",
          "projects/p/sessions",
          JSON.stringify({
            files: Array.from({ length: 51 }, (_, i) => ({
              path: `/f${i}`,
              hash: "0".repeat(16),
              size: 1,
            })),
          }),
        ),
      413,
      /51 files, over the quota of 50/,
    ],
    [
      "more bytes than the quota",
      () =>
        call(
          "POST",
          "projects/p/sessions",
          JSON.stringify({ files: [{ path: "/big", hash: "0".repeat(16), size: 100_001 }] }),
        ),
      413,
      /100001 bytes of files, over the quota of 100000/,
    ],
    [
      "a session that is not open",
      () => call("POST", "projects/p/sessions/0123456789abcdef/publish"),
      404,
      /is not open/,
    ],
  ])("refuses %s with a status and one line", async (_, request, status, message) => {
    const { status: got, json } = await request();
    expect(got).toBe(status);
    expect(json.error).toMatch(message);
  });

  it("refuses a body whose bytes do not hash to its name, and stores nothing of it", async () => {
    const { list } = await listed({ "/x.txt": "real" });
    const opened = await call("POST", "projects/forged/sessions", JSON.stringify({ files: list }));
    const hash = list[0]!.hash;
    const forged = encodeBodies([{ hash, bytes: encoder.encode("fake") }]);
    const sent = await call(
      "PUT",
      `projects/forged/sessions/${opened.json.session as string}/bodies`,
      forged,
    );
    expect(sent.status).toBe(400);
    expect(sent.json.error).toMatch(/does not hash to/);
    expect(await env.ASSETS.get(contentKey(projectPrefix("", "forged"), hash))).toBeNull();
  });

  it.each([
    [
      "a frame longer than the batch",
      () => encodeBodies([{ hash: "0".repeat(16), bytes: encoder.encode("x") }]).slice(0, 20),
      /is not framed as bodies at byte 0/,
    ],
    [
      "a body the session does not list",
      () => encodeBodies([{ hash: "f".repeat(16), bytes: encoder.encode("x") }]),
      /is not one of the session's files/,
    ],
  ])("refuses a batch with %s, and stores nothing of it", async (_, batch, message) => {
    const { list } = await listed({ "/y.txt": "y" });
    const opened = await call("POST", "projects/framing/sessions", JSON.stringify({ files: list }));
    const sent = await call(
      "PUT",
      `projects/framing/sessions/${opened.json.session as string}/bodies`,
      batch(),
    );
    expect(sent.status).toBe(400);
    expect(sent.json.error).toMatch(message);
    const stored = await env.ASSETS.list({ prefix: projectPrefix("", "framing") });
    expect(stored.keys.filter((k) => !k.name.includes("/uploads/"))).toEqual([]);
  });

  it(`refuses a batch of more than ${MAX_BATCH_BODIES} bodies`, async () => {
    const { list } = await listed({ "/x.txt": "x" });
    const opened = await call("POST", "projects/batch/sessions", JSON.stringify({ files: list }));
    const body = encodeBodies(
      Array.from({ length: MAX_BATCH_BODIES + 1 }, () => ({
        hash: list[0]!.hash,
        bytes: encoder.encode("x"),
      })),
    );
    const sent = await call(
      "PUT",
      `projects/batch/sessions/${opened.json.session as string}/bodies`,
      body,
    );
    expect(sent.status).toBe(413);
  });

  it("resolves null for paths outside the API", async () => {
    const response = await handler(
      new Request("https://platform.example/other"),
      env.ASSETS,
      undefined,
    );
    expect(response).toBeNull();
  });
});
