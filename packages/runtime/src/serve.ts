// serveAsset: answers a GET or HEAD for a file of the manifest, or resolves null so the app can route it.

import { logProblem, misconfigured } from "./log.js";
import { catalogOf, type Catalog } from "./catalog.js";
import { withEdgeCache } from "./edge-cache.js";
import { negotiateEncoding } from "./encoding.js";
import { resolveHtml, type HtmlHandling } from "./html.js";
import type { Asset, AssetVariant, ContentEncoding, ManifestSource } from "./manifest.js";
import { decodePath, encodePath, splitUrl, type SplitUrl } from "./path.js";
import { respond, rangeHeaderOf, type Representation } from "./respond.js";
import { openBody, type AssetStorage } from "./storage.js";

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
   * When no file matches: `"none"` resolves `null`; `"404-page"` serves the nearest `404.html` up
   * the tree with status 404; `"single-page-application"` serves `/index.html` with status 200 to
   * navigation requests (`Sec-Fetch-Mode: navigate`, or `Accept: text/html` from clients that do
   * not send Sec-Fetch-Mode) and resolves `null` for everything else.
   * @default "none"
   */
  notFoundHandling?: NotFoundHandling;
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
    const path = decodePath(url.pathname);
    // Resolve with what is known; a sharded manifest may first need the shards the lookups touch.
    let route: Route | null;
    for (;;) {
      const missing = new Set<number>();
      route = decide(request, path, (p) => catalog.has(p, missing));
      if (missing.size === 0) break;
      await catalog.load(missing);
    }
    if (route === null) return null;
    if ("redirect" in route) {
      // A relative reference that always starts with exactly one `/`, so it stays on this origin.
      return new Response(null, {
        status: 307,
        headers: { Location: encodePath(route.redirect) + url.search, "Cache-Control": "no-cache" },
      });
    }
    return send(request, catalog.get(route.file), route.status, url, ctx);
  }

  function decide(
    request: Request,
    path: string | null,
    has: (path: string) => boolean,
  ): Route | null {
    const found = path === null ? null : resolveHtml(path, htmlHandling, has);
    if (found) return "redirect" in found ? found : { file: found.file, status: 200 };
    if (notFoundHandling === "404-page") {
      const page = nearest404(path ?? "/", has);
      if (page) return { file: page, status: 404 };
    } else if (
      notFoundHandling === "single-page-application" &&
      isNavigation(request) &&
      has("/index.html")
    ) {
      return { file: "/index.html", status: 200 };
    }
    return null;
  }

  async function send(
    request: Request,
    asset: Asset,
    status: 200 | 404,
    url: SplitUrl,
    ctx: RequestContext | undefined,
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
    );
    const store = asset.inBucket ? bucket : storage;
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
    const chunk = asset.inBucket ? Infinity : catalog.chunk;
    let response;
    try {
      response = await respond(
        request,
        representation,
        (range) => openBody(source, selected.key, selected.size, chunk, range, cacheTtl),
        rangeHeader,
      );
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

/** The representation of a file in one encoding, the same object for the same answer. */
function representationOf(
  asset: Asset,
  variant: AssetVariant | undefined,
  status: 200 | 404,
  cacheControl: string,
  catalog: Catalog,
): Representation {
  const id = `${status} ${variant?.encoding ?? ""} ${cacheControl}\n${asset.path}`;
  let representation = catalog.representations.get(id);
  if (representation === undefined) {
    representation = {
      status,
      contentType: asset.contentType,
      validators: { etag: variant?.etag ?? asset.etag, lastModified: asset.lastModified },
      size: variant?.size ?? asset.size,
      cacheControl,
      encoding: variant?.encoding,
      varyEncoding: asset.variants.length > 0,
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
