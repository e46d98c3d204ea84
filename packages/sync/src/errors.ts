// One error type for everything a user can fix, and one logger, each naming the package once.
import type { SyncLogger } from "./options.js";

/** A problem the user can fix: misconfiguration, bad input, or a failure that outlived retries. */
export class KvAssetsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`[kv-assets] ${message}`, options);
    this.name = "KvAssetsError";
  }
}

/** Throws a {@link KvAssetsError}; the message says what was wrong and what to do. */
export function fail(message: string, cause?: unknown): never {
  throw new KvAssetsError(message, cause === undefined ? undefined : { cause });
}

/** Stops the sync: a file's bytes are not those its hash was taken over. */
export function changedWhileSyncing(path: string): never {
  fail(`${path} changed while it was being synced; run the sync again`);
}

/** Wraps the logger a run was given so every line it is told names the package. */
export function packageLogger(logger: SyncLogger): SyncLogger {
  return {
    info: (message) => logger.info(`[kv-assets] ${message}`),
    warn: (message) => logger.warn(`[kv-assets] ${message}`),
  };
}

/** A short description of any thrown value, with credentials removed. */
export function describeError(error: unknown): string {
  const api = error as { status?: unknown; errors?: unknown };
  if (typeof api.status === "number" && Array.isArray(api.errors) && api.errors.length > 0) {
    // The cloudflare SDK's APIError: say the status and the API's own messages, not a JSON dump.
    const messages = (api.errors as { code?: unknown; message?: unknown }[])
      .map((e) => `${String(e.message)}${e.code === undefined ? "" : ` (code ${String(e.code)})`}`)
      .join("; ");
    const hint =
      api.status === 401 || api.status === 403
        ? "; check that CLOUDFLARE_API_TOKEN is valid and has Workers KV Storage: Edit"
        : "";
    return redact(`${api.status} ${messages}${hint}`);
  }
  const text = error instanceof Error ? error.message : String(error);
  return redact(text);
}

/** Removes anything that looks like a bearer token from text meant for logs. */
export function redact(text: string): string {
  const token = process.env.CLOUDFLARE_API_TOKEN;
  let out = text.replace(/Bearer\s+[A-Za-z0-9._~+/=-]+/g, "Bearer [redacted]");
  if (token && token.length >= 8) out = out.split(token).join("[redacted]");
  return out;
}
