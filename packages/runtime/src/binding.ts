// AssetBinding: an RPC-callable entrypoint that serves one project's files, chosen by ctx.props.

import { logProblem } from "./log.js";
import { WorkerEntrypoint } from "cloudflare:workers";
import { loadManifest, type LoadManifestOptions, type ManifestStorage } from "./load-manifest.js";
import { createAssetHandler, type ServeAssetOptions } from "./serve.js";
import type { AssetStorage } from "./storage.js";

/** What the caller of an asset binding puts in `props`. */
export interface AssetBindingProps {
  /** Project whose files this binding serves. */
  project: string;
  /** A preview of the project to serve instead of its live deploy (`kv-assets sync --preview`). */
  preview?: string;
}

/** Options of {@link createAssetBinding}. */
export interface AssetBindingOptions<Env> {
  /**
   * The KV namespace holding every project's files and manifests.
   * @default (env) => env.ASSETS
   */
  storage?: (env: Env) => AssetStorage & ManifestStorage;
  /**
   * How files are served; the entrypoint passes its own `ctx` with each request.
   * @default {}
   */
  serve?: ServeAssetOptions;
  /**
   * How manifests are loaded and cached; the project comes from `ctx.props`.
   * @default {}
   */
  manifest?: Omit<LoadManifestOptions, "project" | "preview">;
}

/** An entrypoint class to export from the platform's Worker. */
export type AssetBindingClass<Env> = new (
  ctx: ExecutionContext,
  env: Env,
) => WorkerEntrypoint<Env, AssetBindingProps>;

/**
 * Makes a `WorkerEntrypoint` class whose `fetch(request)` serves the project named in
 * `ctx.props.project`. A platform exports it and hands a Dynamic Worker (or any other Worker) a
 * binding to it with the project in `props`, e.g. `ctx.exports.AssetBinding({ props: { project } })`;
 * that Worker then calls `env.ASSETS.fetch(request)` and can only ever see its own project's files.
 * Requests that match no file get 404; an unpublished project gets 404 too; methods other than
 * GET and HEAD get 405 with `Allow: GET, HEAD`, as Workers Static Assets' binding answers.
 */
export function createAssetBinding<Env = { ASSETS: KVNamespace }>(
  options: AssetBindingOptions<Env> = {},
): AssetBindingClass<Env> {
  const storageOf =
    options.storage ??
    ((env: Env) => (env as { ASSETS?: KVNamespace }).ASSETS as AssetStorage & ManifestStorage);
  const serveOptions = options.serve ?? {};
  const manifestOptions = options.manifest ?? {};

  return class AssetBinding extends WorkerEntrypoint<Env, AssetBindingProps> {
    override async fetch(request: Request): Promise<Response> {
      // As Workers Static Assets' own binding answers: files are only read.
      if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed();
      const storage = storageOf(this.env);
      if (!storage) {
        logProblem("AssetBinding has no storage; bind the KV namespace as ASSETS or pass storage");
        return new Response("Service Unavailable\n", { status: 503 });
      }
      const props = this.ctx.props as Partial<AssetBindingProps> | undefined;
      const manifest = await loadManifest(storage, {
        ...manifestOptions,
        project: props?.project,
        preview: props?.preview,
      });
      if (!manifest) return notFound();
      // One per request: the manifest and storage are the request's own (a manifest keeps what
      // it has read across handlers).
      const handler = createAssetHandler(manifest, storage, {
        notFoundFor: "all",
        ...serveOptions,
      });
      return (await handler(request, this.ctx)) ?? notFound();
    }
  };
}

/** The binding for the common setup: every project in the KV namespace bound as `ASSETS`. */
export const AssetBinding = createAssetBinding();

function methodNotAllowed(): Response {
  return new Response("Method Not Allowed\n", {
    status: 405,
    headers: {
      Allow: "GET, HEAD",
      "Content-Type": "text/plain; charset=utf-8",
      "Cache-Control": "no-cache",
    },
  });
}

function notFound(): Response {
  return new Response("Not Found\n", {
    status: 404,
    headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache" },
  });
}
