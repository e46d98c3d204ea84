// serveAsset: answers a GET or HEAD for a file of the manifest, or resolves null so the app can route it.

import { logProblem, misconfigured } from "./log.js";
import { catalogOf, type Catalog } from "./catalog.js";
import { withEdgeCache } from "./edge-cache.js";
import { negotiateType } from "./accept.js";
import { negotiateEncoding } from "./encoding.js";
import { resolveHtml, type HtmlHandling } from "./html.js";
import type { Asset, AssetVariant, ContentEncoding, ManifestSource } from "./manifest.js";
import { decodePath, encodePath, isCanonicalPath, splitUrl, type SplitUrl } from "./path.js";
import { headerRulesOf, redirectRulesOf, workerFirstOf } from "./rules.js";
import type { HeaderRule } from "./headers-file.js";
import type { RedirectRule } from "./redirects-file.js";
import { memoryCacheOf, type MemoryCache } from "./memory-cache.js";
import { respond, rangeHeaderOf, type OpenBody, type Representation } from "./respond.js";
import { openBody, type AssetStorage, type OpenedBody } from "./storage.js";
import type { ByteRange } from "./range.js";

/** What to do when no file matches the request. */
export type NotFoundHandling = "none" | "404-page" | "single-page-application";

/** Options of {@link serveAsset} and {@link createAssetHandler}. */
export interface ServeAssetOptions {
  /**
   * How `.html` files and trailing slashes map to URLs, as in Workers Static Assets.
   * Non-canonical URLs get a 307 to the canonical one.
   * @default "auto-trailing-slash"
   */
  htmlHandling?: HtmlHandling;
  /**
   * When no file matches a request that {@link notFoundFor} covers: `"none"` resolves `null`;
   * `"404-page"` serves the nearest `404.html` up the tree with status 404;
   * `"single-page-application"` serves `/index.html` with status 200. Other misses resolve
   * `null`, so the app's own routes answer them.
   * @default "none"
   */
  notFoundHandling?: NotFoundHandling;
  /**
   * Which misses get {@link notFoundHandling}. `"navigations"`: only page loads
   * (`Sec-Fetch-Mode: navigate`, or `Accept: text/html` from clients that send no
   * Sec-Fetch-Mode), so a `fetch("/api/...")` always reaches the app, as Workers Static Assets
   * does with a Worker in front. `"all"`: every miss, as it does for a site with no Worker (and as
   * `AssetBinding` does). With {@link runWorkerFirst}, the app's paths are named, so every other
   * miss is the site's.
   * @default runWorkerFirst ? "all" : "navigations"
   */
  notFoundFor?: "navigations" | "all";
  /**
   * Paths the app answers before any file, in the syntax of Workers Static Assets'
   * `run_worker_first`: `*` matches anything, and a pattern starting with `!` excludes paths from
   * the others, e.g. `["/api/*", "!/api/docs/*"]`. A request for one resolves `null` at once,
   * whatever files, redirects or not-found handling would say. At most 100 patterns.
   * @default []
   */
  runWorkerFirst?: string[];
  /**
   * Header rules, instead of those the sync compiled from the site's `_headers`: the file's text,
   * or rules as the manifest holds them. For platforms that keep rules per project.
   * @default the manifest's
   */
  headers?: string | HeaderRule[];
  /**
   * Redirect and rewrite rules, instead of those the sync compiled from the site's `_redirects`:
   * the file's text, or rules as the manifest holds them.
   * @default the manifest's
   */
  redirects?: string | RedirectRule[];
  /**
   * Cache-Control for a file. Return `undefined` to keep the default: fingerprinted files
   * `public, max-age=31536000, immutable`, everything else `public, max-age=0, must-revalidate`.
   * @default undefined
   */
  cacheControl?: (asset: Asset) => string | undefined;
  /**
   * Seconds a body may stay in KV's edge cache (`cacheTtl` of `KV.get`). Keys are content-addressed
   * and never change, so a long time is safe.
   * @default 31536000
   */
  cacheTtl?: number;
  /**
   * Keep whole bodies in the Cache API (`caches.default`) in front of storage. The cache is
   * written in the background, so each request must come with its `ctx`.
   * @default false
   */
  edgeCache?: boolean;
  /**
   * Keep whole bodies of small files (each precompressed variant as its own) in the isolate's
   * memory once read, so a hot file is answered with no storage read. Keys are content-addressed,
   * so a kept body is never stale. The budget is shared by every handler reading from one storage
   * object (one KV binding), whatever the number of handlers or manifests; the least recently
   * used bodies go first. `false` turns it off.
   * @default { bytes: 8388608, maxFileSize: 262144 } (8 MiB in all, files up to 256 KiB)
   */
  memoryCache?: { bytes?: number; maxFileSize?: number } | false;
  /**
   * Storage of the files the sync put in R2 (its `r2` option, the same word), e.g.
   * `r2Storage(env.BUCKET)`.
   * @default undefined
   */
  r2?: AssetStorage;
}

/**
 * What a handler needs of a request's execution context: the `ctx` of `fetch(request, env, ctx)`
 * fits as it is. Work that outlives the response (cache and copy writes) is handed to it.
 */
export interface RequestContext {
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * A request handler bound to one manifest, storage and set of options. Create it once, at module
 * scope, and pass each request's `ctx`.
 */
export type AssetHandler = (request: Request, ctx?: RequestContext) => Promise<Response | null>;

/**
 * Serves the file of `manifest` that `request` asks for, reading its body from `storage`.
 * Resolves `null` when the request is not for a file (another method, or no match under
 * `notFoundHandling: "none"`), so the app can route it. Never rejects. For many requests, make
 * one handler with {@link createAssetHandler} instead.
 */
export function serveAsset(
  request: Request,
  manifest: ManifestSource,
  storage: AssetStorage,
  options: ServeAssetOptions = {},
  ctx?: RequestContext,
): Promise<Response | null> {
  return createAssetHandler(manifest, storage, options)(request, ctx);
}

/**
 * Resolves options once and returns a handler for many requests: create it at module scope and
 * call it as `handler(request, ctx)`. A misconfiguration throws here, once.
 */
export function createAssetHandler(
  manifest: ManifestSource,
  storage: AssetStorage,
  options: ServeAssetOptions = {},
): AssetHandler {
  const htmlHandling = options.htmlHandling ?? "auto-trailing-slash";
  const notFoundHandling = options.notFoundHandling ?? "none";
  const cacheControl = options.cacheControl;
  const cacheTtl = options.cacheTtl ?? 31536000;
  const wantsEdgeCache = options.edgeCache ?? false;
  if (!(cacheTtl >= 30)) {
    misconfigured(`cacheTtl must be at least 30 seconds, KV's minimum (got ${cacheTtl})`);
  }
  const edgeCache = wantsEdgeCache && typeof caches !== "undefined";
  const bucket = options.r2;
  const memory =
    options.memoryCache === false
      ? undefined
      : {
          bytes: options.memoryCache?.bytes ?? 8 * 1024 * 1024,
          maxFileSize: options.memoryCache?.maxFileSize ?? 256 * 1024,
        };
  if (memory && !(memory.bytes >= 0 && memory.maxFileSize >= 0)) {
    misconfigured("memoryCache.bytes and memoryCache.maxFileSize must be numbers of bytes");
  }
  // The memory caches of this handler's storages, looked up once here rather than per request.
  const keptIn = (store: AssetStorage | undefined): MemoryCache | undefined =>
    memory && store ? memoryCacheOf(store, memory.bytes, memory.maxFileSize) : undefined;
  const kept = { storage: keptIn(storage), bucket: keptIn(bucket) };
  const workerFirst = workerFirstOf(options.runWorkerFirst ?? []);
  const notFoundFor = options.notFoundFor ?? (workerFirst ? "all" : "navigations");
  const applyHeaders = headerRulesOf(options.headers ?? manifest.headers ?? []);
  const matchRedirect = redirectRulesOf(options.redirects ?? manifest.redirects ?? []);
  const catalog = catalogOf(manifest);
  let toldNoContext = false;

  return async function handleAsset(request, ctx) {
    try {
      return await handle(request, ctx);
    } catch (error) {
      // Nothing above is expected to throw; if it does, the request still gets an answer.
      logProblem(`failed to serve ${request.url}: ${String(error)}`);
      return unavailable();
    }
  };

  async function handle(request: Request, ctx?: RequestContext): Promise<Response | null> {
    if (request.method !== "GET" && request.method !== "HEAD") return null;
    const url = splitUrl(request.url);
    if (workerFirst?.(url.pathname)) return null;
    const response = await answer(request, url, ctx);
    return response && applyHeaders(url, response);
  }

  async function answer(
    request: Request,
    url: SplitUrl,
    ctx: RequestContext | undefined,
  ): Promise<Response | null> {
    // `_redirects` comes first, even where a file exists, as on Workers Static Assets.
    const rule = matchRedirect(url);
    if (rule !== null && "location" in rule) return redirect(rule.status, rule.location);
    const rewritten = rule?.rewrite;
    const path = decodePath(rewritten ?? url.pathname);
    // Resolve with what is known; a sharded manifest may first need the shards the lookups touch.
    let route: Route | null;
    for (;;) {
      const missing = new Set<number>();
      route = decide(request, path, rewritten !== undefined, (p) => catalog.has(p, missing));
      if (missing.size === 0) break;
      await catalog.load(missing);
    }
    if (route === null) return null;
    // A relative reference that always starts with exactly one `/`, so it stays on this origin.
    if ("redirect" in route) return redirect(307, encodePath(route.redirect) + url.search);
    // One URL per file: a path written another way (`/%61.txt`, `/a//b`, `/[x]`) is sent to the
    // form Workers Static Assets serves it at, each segment encoded as encodeURIComponent does.
    if (
      route.status === 200 &&
      rewritten === undefined &&
      htmlHandling !== "none" &&
      path !== null &&
      !isCanonicalPath(url.pathname, path)
    ) {
      return redirect(307, encodePath(path) + url.search);
    }
    const asset = catalog.get(route.file);
    if (route.status !== 200 || asset.alternates === undefined) {
      return send(request, asset, route.status, url, ctx);
    }
    // The file or one beside it in another type, as Accept prefers; all of them vary on it.
    const chosen = negotiateType(request.headers.get("Accept"), [
      asset.contentType,
      ...asset.alternates.map((a) => a.contentType),
    ]);
    const alternate = chosen > 0 ? asset.alternates[chosen - 1]!.path : undefined;
    if (alternate !== undefined && (await lookup(alternate))) {
      return send(request, catalog.get(alternate), 200, url, ctx, encodePath(alternate));
    }
    return send(request, asset, 200, url, ctx, null);
  }

  /** Whether the manifest has `path`, reading its shard first when it must. */
  async function lookup(path: string): Promise<boolean> {
    for (;;) {
      const missing = new Set<number>();
      const found = catalog.has(path, missing);
      if (missing.size === 0) return found;
      await catalog.load(missing);
    }
  }

  function decide(
    request: Request,
    path: string | null,
    rewritten: boolean,
    has: (path: string) => boolean,
  ): Route | null {
    const found = path === null ? null : resolveHtml(path, htmlHandling, has);
    if (found && "file" in found) return { file: found.file, status: 200 };
    if (found) {
      // A rewrite serves its target where it is, without sending the browser to another URL.
      if (!rewritten) return found;
      const target = resolveHtml(found.redirect, htmlHandling, has);
      if (target && "file" in target) return { file: target.file, status: 200 };
    }
    // A rewrite to nowhere is a miss of the site's own, whatever kind of request it is.
    if (notFoundFor === "navigations" && !rewritten && !isNavigation(request)) return null;
    if (notFoundHandling === "404-page") {
      const page = nearest404(path ?? "/", has);
      if (page) return { file: page, status: 404 };
    } else if (notFoundHandling === "single-page-application" && has("/index.html")) {
      return { file: "/index.html", status: 200 };
    }
    return null;
  }

  /**
   * Sends `asset`. `negotiated` is set when the URL's file has alternates: `null` when the file
   * itself was chosen, or the URL of the alternate sent in its place.
   */
  async function send(
    request: Request,
    asset: Asset,
    status: 200 | 404,
    url: SplitUrl,
    ctx: RequestContext | undefined,
    negotiated?: string | null,
  ): Promise<Response> {
    // Range requests get the identity body: byte offsets must refer to one fixed representation.
    const rangeHeader = rangeHeaderOf(request, status, undefined);
    const encoding =
      asset.variants.length > 0 && rangeHeader === null ? chooseEncoding(request, asset) : null;
    const variant = asset.variants.find((v) => v.encoding === encoding);
    const selected = variant ?? { key: asset.key, etag: asset.etag, size: asset.size };
    const representation = representationOf(
      asset,
      variant,
      status,
      cacheControl?.(asset) ?? defaultCacheControl(asset),
      catalog,
      negotiated,
    );
    const store = asset.inBucket ? bucket : storage;
    const chunk = asset.inBucket ? Infinity : catalog.chunk;
    if (!store) {
      logProblem(
        `${asset.path} is stored in R2, but no R2 storage was given; pass { r2: r2Storage(env.BUCKET) }`,
      );
      return unavailable();
    }
    if (edgeCache && !ctx && !toldNoContext) {
      toldNoContext = true;
      logProblem(
        "edgeCache needs each request's ctx to write the cache: call handler(request, ctx); serving from storage until then",
      );
    }
    const source =
      edgeCache && ctx
        ? withEdgeCache(store, caches.default, url.origin, (p) => ctx.waitUntil(p))
        : store;
    // Bodies in the bucket are whole: R2 reads any range of one object.
    const cache = asset.inBucket ? kept.bucket : kept.storage;
    const fromStorage: OpenBody = (range) =>
      openBody(source, selected.key, selected.size, chunk, range, cacheTtl);
    const open: OpenBody =
      cache && selected.size <= chunk && cache.fits(selected.size)
        ? (range) =>
            openKept(cache, selected.key, selected.size, range, !!source.getRange, fromStorage)
        : fromStorage;
    let response;
    try {
      response = await respond(request, representation, open, rangeHeader);
    } catch (error) {
      logProblem(`storage failed reading "${selected.key}" for ${asset.path}: ${String(error)}`);
      return unavailable();
    }
    if ("missing" in response) {
      logProblem(
        `storage has no value for key "${response.missing}" (${asset.path}); the manifest is ahead of storage, re-run the sync`,
      );
      return unavailable();
    }
    return response;
  }
}

/**
 * Opens a small body from the memory cache, or reads it whole from storage once and keeps it. A
 * range is a view of the kept bytes; a range of a body not kept yet, from storage that reads
 * ranges (R2, the edge cache), is read as a range and not kept.
 */
async function openKept(
  cache: MemoryCache,
  key: string,
  size: number,
  range: ByteRange | null,
  readsRanges: boolean,
  fromStorage: OpenBody,
): Promise<OpenedBody> {
  let bytes = cache.get(key);
  if (bytes === undefined && range !== null && readsRanges) return fromStorage(range);
  if (bytes === undefined) {
    const whole = await fromStorage(null);
    if ("missing" in whole) return whole;
    bytes = new Uint8Array(await new Response(whole.body).arrayBuffer());
    // A stored value of another size than the manifest says is sent as it is, never kept.
    if (bytes.byteLength === size) cache.set(key, bytes);
  }
  if (range === null) return { body: bytes, length: bytes.byteLength };
  const part = bytes.subarray(range.start, range.end + 1);
  return { body: part, length: part.byteLength };
}

/**
 * The representation of a file in one encoding, the same object for the same answer. `negotiated`
 * is as in `send`: set when the file was chosen by Accept.
 */
function representationOf(
  asset: Asset,
  variant: AssetVariant | undefined,
  status: 200 | 404,
  cacheControl: string,
  catalog: Catalog,
  negotiated: string | null | undefined,
): Representation {
  const id = `${status} ${variant?.encoding ?? ""} ${negotiated === undefined ? "" : `${negotiated} `}${cacheControl}\n${asset.path}`;
  let representation = catalog.representations.get(id);
  if (representation === undefined) {
    const digest = variant ? variant.digest : asset.digest;
    representation = {
      status,
      contentType: asset.contentType,
      validators: { etag: variant?.etag ?? asset.etag, lastModified: asset.lastModified },
      size: variant?.size ?? asset.size,
      cacheControl,
      encoding: variant?.encoding,
      varyEncoding: asset.variants.length > 0,
      ...(asset.link !== undefined && status === 200 ? { link: asset.link } : {}),
      ...(digest !== undefined ? { digest } : {}),
      ...(negotiated !== undefined ? { varyAccept: true } : {}),
      ...(negotiated ? { contentLocation: negotiated } : {}),
    };
    catalog.representations.set(id, representation);
  }
  return representation;
}

function nearest404(path: string, has: (path: string) => boolean): string | undefined {
  let dir = path;
  while (dir !== "") {
    dir = dir.slice(0, dir.lastIndexOf("/"));
    if (has(`${dir}/404.html`)) return `${dir}/404.html`;
  }
  return undefined;
}

/** Where a request leads: a file to send with a status, or a canonical URL to redirect to. */
type Route = { file: string; status: 200 | 404 } | { redirect: string };

/** Cache-Control for a file when no `cacheControl` option overrides it. */
export function defaultCacheControl(asset: Asset): string {
  return asset.immutable
    ? "public, max-age=31536000, immutable"
    : "public, max-age=0, must-revalidate";
}

/** Whether a request is a browser navigation (a page load rather than a subresource fetch). */
export function isNavigation(request: Request): boolean {
  const mode = request.headers.get("Sec-Fetch-Mode");
  if (mode !== null) return mode === "navigate";
  return (request.headers.get("Accept") ?? "").includes("text/html");
}

/**
 * The precompressed variant to send, if any. Cloudflare rewrites the Accept-Encoding a Worker sees
 * and keeps the client's own value on `request.cf`; reading `request.cf` costs workerd about as
 * much as the rest of the request's own work, so it is read only when the header admits a variant.
 */
function chooseEncoding(request: Request, asset: Asset): ContentEncoding | null {
  const available = asset.variants.map((v) => v.encoding);
  const fromHeader = negotiateEncoding(request.headers.get("Accept-Encoding"), available);
  if (fromHeader === null) return null;
  const cf: unknown = request.cf;
  if (typeof cf === "object" && cf !== null && "clientAcceptEncoding" in cf) {
    const value = (cf as { clientAcceptEncoding?: unknown }).clientAcceptEncoding;
    if (typeof value === "string") return negotiateEncoding(value, available);
  }
  return fromHeader;
}

function redirect(status: number, location: string): Response {
  return new Response(null, {
    status,
    headers: { Location: location, "Cache-Control": "no-cache" },
  });
}

function unavailable(): Response {
  return new Response("Service Unavailable: asset storage is not ready\n", {
    status: 503,
    headers: {
      "Content-Type": "text/plain; charset=utf-8",
      "Cache-Control": "no-store",
      "Retry-After": "5",
    },
  });
}
