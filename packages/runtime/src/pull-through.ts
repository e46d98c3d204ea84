// createPullThrough: serves files of an HTTP origin (an S3 bucket, any server) and keeps copies in KV.

import { logProblem, misconfigured } from "./log.js";
import { copyKey } from "./keys.js";
import { KV_VALUE_LIMIT } from "./manifest.js";
import { decodePath, encodePath } from "./path.js";
import { respond, type Representation } from "./respond.js";
import { slice, withLength } from "./storage.js";
import type { AssetHandler, RequestContext } from "./serve.js";

/** The KV calls a pull-through handler makes; a `KVNamespace` fits as it is. */
export interface PullThroughStorage {
  getWithMetadata<M>(
    key: string,
    options: { type: "stream"; cacheTtl?: number },
  ): Promise<{ value: ReadableStream | null; metadata: M | null }>;
  put(
    key: string,
    value: ArrayBuffer | Uint8Array,
    options: { expirationTtl?: number; metadata?: unknown },
  ): Promise<void>;
}

/** Options of {@link createPullThrough}. */
export interface PullThroughOptions {
  /**
   * Base URL of the origin, e.g. `https://bucket.example.com` or `https://cdn.example.com/site/`.
   * A request for `/a/b.png` is fetched from the base plus `a/b.png`, always on this host.
   */
  origin: string;
  /** Where copies are kept. */
  kv: PullThroughStorage;
  /**
   * Prefix of the keys copies are stored under.
   * @default "origin/"
   */
  prefix?: string;
  /**
   * Seconds a copy lives in KV before the origin is asked again (`expirationTtl`; KV's minimum is 60).
   * @default 86400
   */
  expirationTtl?: number;
  /**
   * Largest body kept, in bytes; larger ones are streamed to the client and not stored.
   * @default 26214400 (KV's 25 MiB value limit)
   */
  maxSize?: number;
  /**
   * Cache-Control sent with copies. Defaults to the origin's own, or
   * `public, max-age=0, must-revalidate` when it sent none.
   * @default undefined
   */
  cacheControl?: string;
  /**
   * `cacheTtl` of KV reads of copies, in seconds.
   * @default 60
   */
  cacheTtl?: number;
  /**
   * How the origin is reached: `fetch`, or a service binding's `fetch`.
   * @default globalThis.fetch
   */
  fetch?: (request: Request) => Promise<Response>;
}

/**
 * Makes a handler that answers GET and HEAD from copies in KV, fetching from the origin on a miss.
 * A miss streams the origin's response to the client while the copy is written in the background;
 * concurrent misses for one path in an isolate share one origin fetch. Only complete 200 responses
 * that may be shared (no `Set-Cookie`, no `private`/`no-store`/`no-cache`, no `Vary` beyond
 * Accept-Encoding) and that fit `maxSize` are kept. Copies answer conditional and range requests
 * like built assets. Resolves `null` for other methods and for paths that could name a different
 * file than asked (`..`, encoded slashes), so the app can route them. Create it once, at module
 * scope, and call it as `pull(request, ctx)`: copies are written through `ctx.waitUntil`, so a
 * request without `ctx` is answered from the origin and not kept.
 */
export function createPullThrough(options: PullThroughOptions): AssetHandler {
  const base = parseOrigin(options.origin);
  const kv = options.kv;
  const prefix = options.prefix ?? "origin/";
  const expirationTtl = options.expirationTtl ?? 86400;
  const maxSize = options.maxSize ?? KV_VALUE_LIMIT;
  const cacheControl = options.cacheControl;
  const cacheTtl = options.cacheTtl ?? 60;
  const originFetch = options.fetch ?? ((request: Request) => fetch(request));
  if (!(Number.isInteger(expirationTtl) && expirationTtl >= 60))
    fail(`expirationTtl must be a whole number of seconds, at least 60 (got ${expirationTtl})`);
  if (!(cacheTtl >= 30))
    fail(`cacheTtl must be at least 30 seconds, KV's minimum (got ${cacheTtl})`);
  if (!(maxSize >= 0 && maxSize <= KV_VALUE_LIMIT))
    fail(`maxSize must be between 0 and ${KV_VALUE_LIMIT} bytes (got ${maxSize})`);

  // Origin fetches in progress, by key, so concurrent misses share one.
  const inflight = new Map<string, Promise<Copy | null>>();
  let toldNoContext = false;

  return async function pullThrough(request, ctx) {
    if (request.method !== "GET" && request.method !== "HEAD") return null;
    const path = decodePath(new URL(request.url).pathname);
    if (path === null) return null;
    const target = originUrl(base, path);
    const key = copyKey(prefix, await digest(target.href));
    try {
      const hit = await kv.getWithMetadata<CopyMetadata>(key, { type: "stream", cacheTtl });
      if (hit.value && isCopyMetadata(hit.metadata)) {
        return await answer(request, hit.metadata, hit.value);
      }
      await hit.value?.cancel();
    } catch (error) {
      // KV trouble must not take the site down while the origin can still answer.
      logProblem(`reading the copy of ${target.href} failed: ${String(error)}`);
    }
    if (!ctx) {
      if (!toldNoContext) {
        toldNoContext = true;
        logProblem(
          "pull-through needs each request's ctx to keep copies: call pull(request, ctx); answering from the origin until then",
        );
      }
      return fromOrigin(target);
    }
    return miss(request, target, key, ctx);
  };

  // The origin's answer, passed through and not kept.
  async function fromOrigin(target: URL): Promise<Response> {
    try {
      return passThrough(await originFetch(originRequest(target)));
    } catch (error) {
      return badGateway(target, error);
    }
  }

  async function miss(
    request: Request,
    target: URL,
    key: string,
    ctx: RequestContext,
  ): Promise<Response> {
    const shared = inflight.get(key);
    if (shared) {
      const copy = await shared;
      if (copy)
        return answer(request, copy.metadata, new Response(copy.bytes).body as ReadableStream);
      // The first fetch was not kept (too big, private, an error), so there is nothing to share.
      return fromOrigin(target);
    }

    let settle: (copy: Copy | null) => void = () => {};
    const pending = new Promise<Copy | null>((resolve) => (settle = resolve));
    inflight.set(key, pending);
    // The entry leaves the map once the copy is in KV (or given up), so later misses read KV.
    const release = (): void => {
      if (inflight.get(key) === pending) inflight.delete(key);
    };

    let response: Response;
    try {
      response = await originFetch(originRequest(target));
    } catch (error) {
      settle(null);
      release();
      return badGateway(target, error);
    }
    const metadata = storable(response);
    if (!metadata || !response.body) {
      settle(null);
      release();
      return passThrough(response);
    }

    const [forClient, forCopy] = response.body.tee();
    const copying = collect(forCopy, maxSize).then(async (bytes) => {
      if (bytes === null) return null;
      const complete: CopyMetadata = {
        ...metadata,
        size: bytes.byteLength,
        etag: metadata.etag ?? `"${await digest(bytes)}"`,
      };
      return { bytes, metadata: complete };
    });
    void copying.then(settle, () => settle(null));
    ctx.waitUntil(
      copying
        .then((copy) =>
          copy ? kv.put(key, copy.bytes, { expirationTtl, metadata: copy.metadata }) : undefined,
        )
        .catch((error: unknown) => {
          logProblem(`storing the copy of ${target.href} failed: ${String(error)}`);
        })
        .finally(release),
    );

    // A plain GET streams straight through; anything that depends on the body's validators or
    // length (conditions, ranges, HEAD) waits for the copy and is answered from it.
    if (request.method === "GET" && !hasConditions(request)) {
      const headers = responseHeaders(metadata);
      const length = response.headers.get("Content-Length");
      const known = length !== null && !response.headers.has("Content-Encoding");
      if (known) headers.set("Content-Length", length);
      return new Response(known ? withLength(forClient, Number(length)) : forClient, {
        status: 200,
        headers,
      });
    }
    const copy = await copying.catch(() => null);
    if (!copy) return new Response(forClient, { status: 200, headers: responseHeaders(metadata) });
    await forClient.cancel();
    return answer(request, copy.metadata, new Response(copy.bytes).body as ReadableStream);
  }

  async function answer(
    request: Request,
    metadata: CopyMetadata,
    stream: ReadableStream,
  ): Promise<Response> {
    const representation: Representation = {
      status: 200,
      contentType: metadata.type,
      validators: { etag: metadata.etag as string, lastModified: metadata.modified },
      size: metadata.size,
      cacheControl: cacheControlOf(metadata),
      varyEncoding: false,
    };
    let opened = false;
    const response = await respond(request, representation, async (range) => {
      opened = true;
      const length = range ? range.end - range.start + 1 : metadata.size;
      return {
        body: range ? slice([stream], range.start, length) : withLength(stream, length),
        length,
      };
    });
    if (!opened) await stream.cancel().catch(() => {});
    return response as Response;
  }

  function cacheControlOf(metadata: OriginMetadata): string {
    return cacheControl ?? metadata.cacheControl ?? "public, max-age=0, must-revalidate";
  }

  function responseHeaders(metadata: OriginMetadata): Headers {
    const headers = new Headers({
      "Content-Type": metadata.type,
      "Last-Modified": new Date(metadata.modified * 1000).toUTCString(),
      "Cache-Control": cacheControlOf(metadata),
      "Accept-Ranges": "bytes",
    });
    if (metadata.etag) headers.set("ETag", metadata.etag);
    return headers;
  }
}

/** What is stored with each copy, as KV metadata. */
interface CopyMetadata {
  type: string;
  etag?: string;
  /** Last-Modified in seconds: the origin's, or when the copy was made. */
  modified: number;
  size: number;
  cacheControl?: string;
}

/** What the origin's headers say, before the body is read (no size, maybe no ETag yet). */
type OriginMetadata = Omit<CopyMetadata, "size" | "etag"> & { etag?: string };

interface Copy {
  bytes: Uint8Array;
  metadata: CopyMetadata;
}

function badGateway(target: URL, error: unknown): Response {
  logProblem(`fetching ${target.href} from the origin failed: ${String(error)}`);
  return new Response("Bad Gateway\n", { status: 502, headers: { "Cache-Control": "no-store" } });
}

// Options of the pull-through are named after it in every message.
function fail(message: string): never {
  return misconfigured(`pull-through: ${message}`);
}

function parseOrigin(origin: string): URL {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    fail(`origin ${JSON.stringify(origin)} is not a URL; pass e.g. "https://bucket.example.com"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    fail(`origin ${JSON.stringify(origin)} must be an http or https URL`);
  if (url.search || url.hash || url.username || url.password)
    fail(`origin ${JSON.stringify(origin)} must not carry a query, fragment or credentials`);
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}

// The request path only ever becomes percent-encoded segments below the base path: it can add
// neither a host, nor `..`, nor a query, so the origin cannot be steered elsewhere.
function originUrl(base: URL, path: string): URL {
  const url = new URL(base.href);
  url.pathname = base.pathname + encodePath(path).slice(1);
  return url;
}

// Nothing of the client's request is forwarded: copies are shared by every client.
function originRequest(target: URL): Request {
  return new Request(target.href, { method: "GET", redirect: "follow" });
}

/** The metadata of a response that may be kept, or `null` when it must not be. */
function storable(response: Response): OriginMetadata | null {
  if (response.status !== 200) return null;
  const headers = response.headers;
  if (headers.has("Set-Cookie")) return null;
  const control = (headers.get("Cache-Control") ?? "").toLowerCase();
  if (/(?:^|,)\s*(?:private|no-store|no-cache)\b/.test(control)) return null;
  const vary = (headers.get("Vary") ?? "")
    .split(",")
    .map((v) => v.trim().toLowerCase())
    .filter((v) => v !== "" && v !== "accept-encoding");
  if (vary.length > 0) return null;
  const length = headers.get("Content-Length");
  if (length !== null && !headers.has("Content-Encoding") && Number(length) > KV_VALUE_LIMIT)
    return null;
  const modified = Date.parse(headers.get("Last-Modified") ?? "");
  const metadata = {
    type: headers.get("Content-Type") ?? "application/octet-stream",
    etag: headers.get("ETag") ?? undefined,
    modified: Math.floor((Number.isNaN(modified) ? Date.now() : modified) / 1000),
    cacheControl: headers.get("Cache-Control") ?? undefined,
  };
  // KV keeps at most 1024 bytes of metadata per key.
  return JSON.stringify(metadata).length > 900 ? null : metadata;
}

function isCopyMetadata(value: unknown): value is CopyMetadata {
  if (typeof value !== "object" || value === null) return false;
  const m = value as Partial<CopyMetadata>;
  return (
    typeof m.type === "string" &&
    typeof m.etag === "string" &&
    Number.isFinite(m.modified) &&
    Number.isInteger(m.size)
  );
}

function hasConditions(request: Request): boolean {
  const h = request.headers;
  return (
    h.has("Range") ||
    h.has("If-None-Match") ||
    h.has("If-Modified-Since") ||
    h.has("If-Match") ||
    h.has("If-Unmodified-Since")
  );
}

/** Reads a whole stream, or gives up (cancelling it) past `limit` bytes. */
async function collect(
  stream: ReadableStream<Uint8Array>,
  limit: number,
): Promise<Uint8Array | null> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

function passThrough(response: Response): Response {
  // Headers of the origin's response are immutable; a new response lets the app change them.
  return new Response(response.body, response);
}

async function digest(input: string | Uint8Array): Promise<string> {
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...hash.slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
