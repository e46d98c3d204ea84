// An upload API for a platform's Worker: a client publishes a project through a session spread
// over several requests (list the files, upload what storage lacks in batches, publish), so a
// project of any size fits a Worker's limits per request. `kv-assets push` is its client.

import type { ManifestFile } from "./build-manifest.js";
import { contentTypeOf } from "./content-type.js";
import { hashBytes } from "./hash.js";
import { contentKey, partKeys, uploadKey } from "./keys.js";
import { CONTENT_ENCODINGS, KV_VALUE_LIMIT, type ContentEncoding } from "./manifest.js";
import { neverPublished } from "./names.js";
import { viteFingerprint } from "./build-manifest.js";
import { escapeRegExp } from "./pattern.js";
import {
  isFilePath,
  prefixOf,
  PublishError,
  putParts,
  retainOf,
  withPublishLock,
  type PublishStorage,
} from "./publish.js";
import type { RetainSettings } from "./retain.js";
import { listAll, randomHex } from "./worker-locks.js";

/** A file as a client lists it: its path, the xxh64 and size of its body, and its variants. */
export interface UploadFile {
  path: string;
  hash: string;
  size: number;
  variants?: { encoding: ContentEncoding; hash: string; size: number }[];
}

/** Options of {@link createUploadHandler}; `Context` is what each call passes on (its `env`). */
export interface UploadHandlerOptions<Context = undefined> {
  /**
   * Whether `request` may publish `project`: check its credentials here, with the `context` the
   * handler was called with (the Worker's `env`, say). Resolve `false` for a 403; nothing of the
   * request is read before.
   */
  authorize(request: Request, project: string, context: Context): boolean | Promise<boolean>;
  /**
   * Largest project a session may publish: files, and bytes of their bodies. Over it, the
   * session is refused with 413 and a message naming the limit.
   * @default no limit
   */
  quota?: { files?: number; bytes?: number };
  /**
   * Prefix of every key, before `project/<id>/`, as the sync's `prefix`.
   * @default ""
   */
  prefix?: string;
  /**
   * URL path the API is served under; requests elsewhere resolve `null`.
   * @default "/"
   */
  basePath?: string;
  /**
   * Which paths are fingerprinted, served with a year of immutable caching.
   * @default Vite's `assets/name-HASH.ext`, as the sync's
   */
  immutable?: (path: string) => boolean;
  /**
   * How long fingerprinted files a deploy drops stay served, as the sync's `retain`.
   * @default { deploys: 10, seconds: 604800 } (7 days)
   */
  retain?: Partial<RetainSettings> | false;
}

/** Answers a request of the upload API, or `null` when it is for another path. */
export type UploadHandler<Context = undefined> = (
  request: Request,
  storage: PublishStorage,
  context: Context,
) => Promise<Response | null>;

/** Bodies a batch may carry, so one request stays within a Worker's KV operations. */
export const MAX_BATCH_BODIES = 500;

/** Seconds an upload session is kept: a client that does not publish within it starts again. */
export const SESSION_TTL = 24 * 3600;

/**
 * The upload API. Under `basePath`, for project `p`:
 * - `POST projects/p/sessions` with `{ files: UploadFile[] }` answers 201
 *   `{ session, missing, skipped }`: the hashes storage lacks (upload those) and the paths left out
 *   by name. A client that was interrupted starts a new session: what it uploaded is not missing.
 * - `PUT projects/p/sessions/<session>/bodies` with bodies framed by {@link encodeBodies} stores
 *   each after checking its hash and size against the session's list; 200 `{ stored }`.
 * - `POST projects/p/sessions/<session>/publish` checks every body is stored (409 with `missing`
 *   when not), then publishes as `publishProject` does; 200 `{ files, created }`.
 * Errors are JSON `{ error }` with 400, 403, 404, 409 or 413.
 */
export function createUploadHandler<Context = undefined>(
  options: UploadHandlerOptions<Context>,
): UploadHandler<Context> {
  const base = (options.basePath ?? "/").replace(/\/?$/, "/");
  const immutable = options.immutable ?? viteFingerprint();
  const retain = retainOf(options.retain);
  const route = new RegExp(
    `^${escapeRegExp(base)}projects/([^/]+)/sessions(?:/([0-9a-f]{16})/(bodies|publish))?$`,
  );

  return async function handleUpload(request, storage, context) {
    const match = route.exec(new URL(request.url).pathname);
    if (!match) return null;
    const [, project = "", session, action] = match;
    try {
      // A project id has no character a URL encodes, so the segment is taken as it is.
      const id = project;
      const prefix = prefixOf(id, options.prefix);
      if (!(await options.authorize(request, id, context))) {
        return failure(403, `not allowed to publish project ${id}`);
      }
      if (session === undefined && request.method === "POST") {
        return await open(request, storage, prefix);
      }
      if (action === "bodies" && request.method === "PUT") {
        return await receive(request, storage, prefix, session as string);
      }
      if (action === "publish" && request.method === "POST") {
        return await publish(storage, prefix, id, session as string);
      }
      return failure(405, `${request.method} is not an action of ${new URL(request.url).pathname}`);
    } catch (error) {
      if (error instanceof PublishError) return failure(400, error.message);
      if (error instanceof UploadRefused)
        return failure(error.status, error.message, error.missing);
      throw error;
    }
  };

  async function open(request: Request, storage: PublishStorage, prefix: string) {
    const files = parseFiles(await request.json().catch(() => null));
    const skipped = files.filter((f) => neverPublished(f.path.slice(1)) !== undefined);
    const accepted = files.filter((f) => !skipped.includes(f));
    const bytes = accepted.reduce((sum, f) => sum + f.size, 0);
    const quota = options.quota ?? {};
    if (quota.files !== undefined && accepted.length > quota.files) {
      throw new UploadRefused(413, `${accepted.length} files, over the quota of ${quota.files}`);
    }
    if (quota.bytes !== undefined && bytes > quota.bytes) {
      throw new UploadRefused(413, `${bytes} bytes of files, over the quota of ${quota.bytes}`);
    }
    const stored = new Set((await listAll(storage, prefix)).map((key) => key.name));
    const missing = missingBodies(accepted, prefix, stored);
    const id = randomHex(8);
    await storage.put(uploadKey(prefix, id), JSON.stringify(accepted), {
      expirationTtl: SESSION_TTL,
    });
    return Response.json(
      { session: id, missing, skipped: skipped.map((f) => f.path) },
      { status: 201 },
    );
  }

  async function receive(request: Request, storage: PublishStorage, prefix: string, id: string) {
    const files = await sessionFiles(storage, prefix, id);
    const sizes = new Map<string, number>();
    for (const file of files) {
      for (const body of [file, ...(file.variants ?? [])]) sizes.set(body.hash, body.size);
    }
    const bodies = decodeBodies(new Uint8Array(await request.arrayBuffer()));
    if (bodies.length > MAX_BATCH_BODIES) {
      throw new UploadRefused(
        413,
        `${bodies.length} bodies in one batch, over ${MAX_BATCH_BODIES}`,
      );
    }
    const t = Math.floor(Date.now() / 1000);
    for (const { hash, bytes } of bodies) {
      if (sizes.get(hash) !== bytes.byteLength) {
        throw new UploadRefused(400, `body ${hash} is not one of the session's files at that size`);
      }
      if ((await hashBytes(bytes)) !== hash) {
        throw new UploadRefused(
          400,
          `body ${hash} does not hash to ${hash}; nothing of it was stored`,
        );
      }
      await putParts(
        (key, part) => storage.put(key, part, { metadata: { t } }),
        contentKey(prefix, hash),
        bytes,
        KV_VALUE_LIMIT,
      );
    }
    return Response.json({ stored: bodies.length });
  }

  async function publish(storage: PublishStorage, prefix: string, project: string, id: string) {
    const files = await sessionFiles(storage, prefix, id);
    const locked = { prefix, project, retain };
    const result = await withPublishLock(storage, locked, async (run) => {
      const missing = missingBodies(files, prefix, run.stored);
      if (missing.length > 0) {
        throw new UploadRefused(409, `${missing.length} bodies are not uploaded yet`, missing);
      }
      const manifestFiles = files.map((file): ManifestFile => ({
        path: file.path,
        hash: file.hash,
        size: file.size,
        contentType: contentTypeOf(file.path),
        lastModified: run.known.get(file.hash)?.lastModified ?? run.now,
        immutable: immutable(file.path),
        variants: file.variants ?? [],
      }));
      return run.record(manifestFiles, KV_VALUE_LIMIT);
    });
    await storage.delete(uploadKey(prefix, id)).catch(() => {});
    return Response.json({ files: files.length, created: result.created });
  }
}

/**
 * Frames bodies for one `PUT .../bodies`: each is its hash (16 hex digits), its length (12 hex
 * digits) and its bytes. {@link decodeBodies} reads them back.
 */
export function encodeBodies(bodies: { hash: string; bytes: Uint8Array }[]): Uint8Array {
  const encoder = new TextEncoder();
  const length = bodies.reduce((sum, b) => sum + 28 + b.bytes.byteLength, 0);
  const out = new Uint8Array(length);
  let at = 0;
  for (const { hash, bytes } of bodies) {
    out.set(encoder.encode(hash + bytes.byteLength.toString(16).padStart(12, "0")), at);
    out.set(bytes, at + 28);
    at += 28 + bytes.byteLength;
  }
  return out;
}

/** The bodies of a batch {@link encodeBodies} framed; a malformed frame is refused with 400. */
export function decodeBodies(data: Uint8Array): { hash: string; bytes: Uint8Array }[] {
  const decoder = new TextDecoder();
  const bodies: { hash: string; bytes: Uint8Array }[] = [];
  let at = 0;
  while (at < data.byteLength) {
    const head = decoder.decode(data.subarray(at, at + 28));
    const size = /^[0-9a-f]{28}$/.test(head) ? parseInt(head.slice(16), 16) : NaN;
    if (!(size >= 0) || at + 28 + size > data.byteLength) {
      throw new UploadRefused(400, `the batch is not framed as bodies at byte ${at}`);
    }
    bodies.push({ hash: head.slice(0, 16), bytes: data.subarray(at + 28, at + 28 + size) });
    at += 28 + size;
  }
  return bodies;
}

/** Hashes of the bodies of `files` (and their variants) whose keys are not all in `stored`. */
function missingBodies(files: UploadFile[], prefix: string, stored: Set<string>): string[] {
  const missing = new Set<string>();
  for (const file of files) {
    for (const body of [file, ...(file.variants ?? [])]) {
      const keys = partKeys(contentKey(prefix, body.hash), body.size, KV_VALUE_LIMIT);
      if (!keys.every((key) => stored.has(key))) missing.add(body.hash);
    }
  }
  return [...missing];
}

/** A request of the upload API refused with `status`; `missing` for a publish that came early. */
class UploadRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly missing?: string[],
  ) {
    super(message);
  }
}

function failure(status: number, error: string, missing?: string[]): Response {
  return Response.json({ error, ...(missing ? { missing } : {}) }, { status });
}

async function sessionFiles(storage: PublishStorage, prefix: string, id: string) {
  const text = await storage.get(uploadKey(prefix, id), "text");
  if (text === null) {
    throw new UploadRefused(404, `upload session ${id} is not open (it expires after a day)`);
  }
  return JSON.parse(text) as UploadFile[];
}

function parseFiles(value: unknown): UploadFile[] {
  const files = (value as { files?: unknown } | null)?.files;
  if (!Array.isArray(files)) throw new UploadRefused(400, "the body must be { files: [...] }");
  const paths = new Set<string>();
  for (const file of files as UploadFile[]) {
    const ok =
      typeof file === "object" &&
      file !== null &&
      typeof file.path === "string" &&
      isFilePath(file.path) &&
      isBody(file) &&
      (file.variants === undefined ||
        (Array.isArray(file.variants) &&
          file.variants.every((v) => isBody(v) && CONTENT_ENCODINGS.includes(v.encoding))));
    if (!ok)
      throw new UploadRefused(400, `file ${JSON.stringify(file)} is not { path, hash, size }`);
    if (paths.has(file.path)) throw new UploadRefused(400, `file ${file.path} is listed twice`);
    paths.add(file.path);
  }
  return files as UploadFile[];
}

function isBody(body: { hash?: unknown; size?: unknown }): boolean {
  return (
    typeof body.hash === "string" &&
    /^[0-9a-f]{16}$/.test(body.hash) &&
    Number.isSafeInteger(body.size) &&
    (body.size as number) >= 0
  );
}
