// A ready asset Worker: serves every project of a namespace by a rule (host name, path prefix,
// header, or the props of the binding that called it), for any Worker to bind through a service
// binding, whatever language it is written in.

import { logProblem } from "./log.js";
import { loadManifest, type LoadManifestOptions, type ManifestStorage } from "./load-manifest.js";
import { createAssetHandler, type ServeAssetOptions } from "./serve.js";
import type { AssetStorage } from "./storage.js";

/**
 * How a request names its project: the first label of its host (`acme.sites.example`), the first
 * segment of its path (`/acme/index.html`, for a project published under `--base-path /acme/`),
 * the `X-Project` header, or `ctx.props.project` of the service binding that called the Worker.
 */
export type ProjectRule = "host" | "path" | "header" | "props";

/** Options of {@link createAssetWorker}. */
export interface AssetWorkerOptions<Env> {
  /**
   * How a request names its project, or a function that says.
   * @default env.PROJECT_FROM, else "host"
   */
  project?: ProjectRule | ((request: Request, env: Env, ctx: ExecutionContext) => string | null);
  /**
   * The KV namespace holding every project.
   * @default (env) => env.ASSETS
   */
  storage?: (env: Env) => AssetStorage & ManifestStorage;
  /**
   * How files are served.
   * @default { notFoundFor: "all" }: every miss gets the project's not-found answer
   */
  serve?: ServeAssetOptions;
  /**
   * How manifests are loaded and cached.
   * @default {}
   */
  manifest?: Omit<LoadManifestOptions, "project">;
}

/**
 * A Worker's handler that serves the project each request names. Deploy it with the namespace
 * bound as `ASSETS` (and `PROJECT_FROM` among its vars to pick the rule), then bind it from any
 * Worker: `env.ASSETS.fetch(request)` in JavaScript, `env.service("ASSETS")?.fetch_request(req)`
 * in a Rust Worker built with workers-rs. A request naming no project, or one that published
 * nothing, gets 404; methods other than GET and HEAD get 405.
 */
export function createAssetWorker<Env = { ASSETS: KVNamespace; PROJECT_FROM?: string }>(
  options: AssetWorkerOptions<Env> = {},
): ExportedHandler<Env> {
  const storageOf =
    options.storage ??
    ((env: Env) => (env as { ASSETS?: KVNamespace }).ASSETS as AssetStorage & ManifestStorage);
  const serveOptions: ServeAssetOptions = { notFoundFor: "all", ...options.serve };
  const manifestOptions = options.manifest ?? {};

  return {
    async fetch(request, env, ctx) {
      if (request.method !== "GET" && request.method !== "HEAD") {
        return new Response("Method Not Allowed\n", {
          status: 405,
          headers: { Allow: "GET, HEAD" },
        });
      }
      const storage = storageOf(env);
      if (!storage) {
        logProblem("the asset Worker has no storage; bind the KV namespace as ASSETS");
        return new Response("Service Unavailable\n", { status: 503 });
      }
      const project = projectOf(request, env, ctx, options.project);
      if (project === null) return notFound();
      const manifest = await loadManifest(storage, { ...manifestOptions, project });
      if (!manifest) return notFound();
      const handler = createAssetHandler(manifest, storage, serveOptions);
      return (await handler(request, ctx)) ?? notFound();
    },
  };
}

function projectOf<Env>(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  rule: AssetWorkerOptions<Env>["project"],
): string | null {
  if (typeof rule === "function") return rule(request, env, ctx);
  const chosen = rule ?? ((env as { PROJECT_FROM?: string }).PROJECT_FROM as ProjectRule) ?? "host";
  const url = new URL(request.url);
  if (chosen === "host") {
    return url.hostname.split(".")[0] || null;
  }
  if (chosen === "header") {
    return request.headers.get("X-Project");
  }
  if (chosen === "props") {
    const project = (ctx as { props?: { project?: unknown } }).props?.project;
    return typeof project === "string" ? project : null;
  }
  if (chosen === "path") {
    // The path is served as it is: publish the project under its segment (`--base-path /acme/`,
    // Vite's `base`), so its pages, redirects and links name the URLs it is served at.
    return /^\/([^/]+)/.exec(url.pathname)?.[1] ?? null;
  }
  logProblem(`PROJECT_FROM is ${JSON.stringify(chosen)}; use host, path, header or props`);
  return null;
}

function notFound(): Response {
  return new Response("Not Found\n", { status: 404, headers: { "Cache-Control": "no-cache" } });
}

/** The ready asset Worker: the project by `PROJECT_FROM` (default the host's first label). */
export default createAssetWorker();
