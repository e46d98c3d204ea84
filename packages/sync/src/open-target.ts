// Opens what a sync writes to: local KV state (wrangler's own) or the remote KV API.
import { fail, packageLogger } from "./errors.js";
import { openLocalKv } from "./kv-local.js";
import { openRemoteKv } from "./kv-remote.js";
import type { SyncOptions } from "./options.js";
import type { KvTarget } from "./target.js";
import { resolvePrefix } from "./manifest.js";
import { validateSyncOptions } from "./validate-options.js";
import { readKvBinding } from "./wrangler-config.js";

/**
 * Checks `options`, opens the target they name (unless one is given) and runs `run` with it and
 * the site's key prefix, closing what it opened afterwards: how the commands that only read or
 * change records (unlock, deploys, rollback) reach storage.
 */
export async function withTarget<T>(
  options: SyncOptions,
  run: (target: KvTarget, prefix: string) => Promise<T>,
): Promise<T> {
  validateSyncOptions(options as Record<string, unknown>);
  const prefix = resolvePrefix(options.prefix ?? "", options.project);
  const target = options.target ?? (await openTarget(options));
  try {
    return await run(target, prefix);
  } finally {
    if (!options.target) await target.close();
  }
}

/** Opens local or remote KV for the binding in the wrangler configuration. */
export async function openTarget(options: SyncOptions): Promise<KvTarget> {
  return (await targetOpener(options))();
}

/**
 * Checks the configuration (binding, credentials) and returns what opens the target, so a
 * misconfiguration is reported at once while opening itself can run beside other work.
 */
export async function targetOpener(options: SyncOptions): Promise<() => Promise<KvTarget>> {
  const binding = await readKvBinding({
    config: options.config,
    binding: options.binding ?? "ASSETS",
    environment: options.environment,
    cwd: options.cwd,
  });
  if (!isRemoteEnv(options)) {
    return () =>
      openLocalKv(binding, {
        persistTo: options.persistTo,
        environment: options.environment,
        bucket: options.r2?.binding,
        onWait: (message) => packageLogger(options.logger ?? console).warn(message),
      });
  }
  if (options.r2) {
    fail(
      "the r2 option writes to local R2 state only; for a remote deploy leave r2 unset (large files are stored in parts in KV) or upload them with `wrangler r2 object put`",
    );
  }
  const remote = options.remoteOptions ?? {};
  const apiToken = remote.apiToken ?? process.env.CLOUDFLARE_API_TOKEN;
  const accountId = remote.accountId ?? process.env.CLOUDFLARE_ACCOUNT_ID ?? binding.accountId;
  const namespaceId = remote.namespaceId ?? binding.id;
  if (!apiToken) {
    fail(
      "remote sync needs an API token: set CLOUDFLARE_API_TOKEN to a token with Workers KV Storage: Edit",
    );
  }
  if (!accountId)
    fail(
      `remote sync needs an account: set CLOUDFLARE_ACCOUNT_ID or account_id in ${binding.configPath}`,
    );
  if (!namespaceId) {
    fail(
      `binding "${binding.binding}" in ${binding.configPath} has no id; create the namespace with \`wrangler kv namespace create\` and add its id`,
    );
  }
  return () => openRemoteKv({ ...remote, apiToken, accountId, namespaceId });
}

function isRemoteEnv(options: SyncOptions): boolean {
  return options.remote ?? process.env.KV_ASSETS_REMOTE === "1";
}
