// Reads the KV binding, namespace ids and account from the project's wrangler configuration.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fail } from "./errors.js";
import { loadWrangler } from "./signals.js";

/** What a sync needs to know about the KV namespace behind a binding. */
export interface KvBinding {
  /** Absolute path of the wrangler configuration file. */
  configPath: string;
  /** Folder of the configuration file; local state lives under it in `.wrangler/state`. */
  projectRoot: string;
  /** Binding name, e.g. `ASSETS`. */
  binding: string;
  /** Namespace id for remote sync (`id`), if set. */
  id?: string;
  /** Namespace id wrangler uses locally: `preview_id ?? id ?? binding`. */
  localId: string;
  /** `account_id` from the configuration, if set. */
  accountId?: string;
}

// The part of wrangler's parsed configuration this package reads.
interface WranglerConfigSlice {
  account_id?: string;
  kv_namespaces: { binding: string; id?: string; preview_id?: string }[];
}

const CONFIG_NAMES = ["wrangler.jsonc", "wrangler.json", "wrangler.toml"];

/** Finds `wrangler.jsonc`, `wrangler.json` or `wrangler.toml` in `dir`. */
export function findWranglerConfig(dir: string): string | undefined {
  for (const name of CONFIG_NAMES) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** Reads `binding` from the wrangler configuration at `config` (or found in `cwd`). */
export async function readKvBinding({
  config,
  binding,
  environment,
  cwd = process.cwd(),
}: {
  config?: string;
  binding: string;
  environment?: string;
  cwd?: string;
}): Promise<KvBinding> {
  const configPath = config ? resolve(cwd, config) : findWranglerConfig(cwd);
  if (!configPath) {
    fail(
      `no wrangler configuration in ${cwd}; create wrangler.jsonc with "kv_namespaces": [{ "binding": "${binding}" }] or pass the path with --config`,
    );
  }
  if (!existsSync(configPath))
    fail(`wrangler configuration ${configPath} does not exist; check the --config path`);
  const { unstable_readConfig } = await loadWrangler();
  const parsed: WranglerConfigSlice = (() => {
    try {
      return unstable_readConfig({ config: configPath, env: environment }, { hideWarnings: true });
    } catch (error) {
      fail(
        `cannot read ${configPath}: ${error instanceof Error ? error.message : String(error)}`,
        error,
      );
    }
  })();
  const namespace = parsed.kv_namespaces.find((ns) => ns.binding === binding);
  if (!namespace) {
    const known = parsed.kv_namespaces.map((ns) => ns.binding).join(", ") || "none";
    fail(
      `binding "${binding}" not found in ${configPath} (KV bindings there: ${known}); add { "binding": "${binding}" } under kv_namespaces`,
    );
  }
  return {
    configPath,
    projectRoot: dirname(configPath),
    binding,
    id: namespace.id,
    localId: namespace.preview_id ?? namespace.id ?? binding,
    accountId: parsed.account_id,
  };
}
