// Files no publisher ever uploads, by name: what the sync and a Worker that publishes both refuse.

/** Why a file is never published: a secret or deploy config, the platform's own file, a dotfile. */
export type NeverPublished = "secret" | "platform" | "dotfile";

/**
 * Why the file at `rel` (relative to the site's root, POSIX, no leading `/`) is never published,
 * or `undefined` when its name allows it: secrets and deploy config (`.dev.vars*`, `.env*`,
 * `wrangler.json`, `wrangler.jsonc`, `wrangler.toml`) anywhere, the platform's own files at the
 * root (`_headers`, `_redirects`, `_routes.json`, `_worker.js`), and dotfiles but `.well-known/`.
 */
export function neverPublished(rel: string): NeverPublished | undefined {
  if (SECRET.test(rel)) return "secret";
  if (PLATFORM.test(rel)) return "platform";
  if (rel.split("/").some((s) => s.startsWith(".") && s !== ".well-known")) return "dotfile";
  return undefined;
}

const SECRET = /(^|\/)(\.dev\.vars(\..*)?|\.env(\..*)?|wrangler\.(json|jsonc|toml))$/;

// Configuration and server code of Workers Static Assets and Pages, at the root of the folder.
const PLATFORM = /^(_headers|_redirects|_routes\.json|_worker\.js(\/.*)?)$/;
