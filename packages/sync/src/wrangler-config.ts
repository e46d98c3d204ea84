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
  /** `account_id` from the configuration, if set. */
  accountId?: string;
}

// The part of wrangler's parsed configuration this package reads.
interface WranglerConfigSlice {
  account_id?: string;
  kv_namespaces: { binding: string; id?: string; preview_id?: string }[];
}

/**
 * Finds the wrangler configuration the way wrangler itself does from `dir`: `wrangler.json`, then
 * `wrangler.jsonc`, then `wrangler.toml`, each looked for in `dir` and then in every folder above.
 */
export async function findWranglerConfig(dir: string): Promise<string | undefined> {
  const { experimental_readRawConfig } = await loadWrangler();
  // Wrangler looks up from the folder of the Worker's script; a name in `dir` makes that `dir`.
  return readRaw(() => experimental_readRawConfig({ script: join(dir, "worker.js") })).configPath;
}

/** Reads `binding` from the wrangler configuration at `config` (or found from `cwd` as wrangler finds it). */
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
  const configPath = config ? resolve(cwd, config) : await findWranglerConfig(cwd);
  if (!configPath) {
    fail(
      `no wrangler configuration in ${cwd} or any folder above it; create wrangler.jsonc with "kv_namespaces": [{ "binding": "${binding}" }] or pass the path with --config`,
    );
  }
  if (!existsSync(configPath))
    fail(`wrangler configuration ${configPath} does not exist; check the --config path`);
  const { experimental_readRawConfig, unstable_readConfig } = await loadWrangler();
  const raw = readRaw(() => experimental_readRawConfig({ config: configPath })).rawConfig as {
    env?: Record<string, unknown>;
  };
  // Wrangler falls back to the top level for an environment the file does not define, which
  // would publish to the wrong namespace.
  if (environment !== undefined && !Object.hasOwn(raw.env ?? {}, environment)) {
    const known = Object.keys(raw.env ?? {});
    fail(
      `environment "${environment}" is not defined in ${configPath} (${known.length > 0 ? `environments there: ${known.join(", ")}` : "it defines none"}); add it under "env" or leave --env out`,
    );
  }
  const parsed: WranglerConfigSlice = (() => {
    try {
      return unstable_readConfig({ config: configPath, env: environment }, { hideWarnings: true });
    } catch (error) {
      fail(`cannot read ${configPath}: ${describeConfigError(error)}`, error);
    }
  })();
  const namespace = parsed.kv_namespaces.find((ns) => ns.binding === binding);
  if (!namespace) {
    const known = parsed.kv_namespaces.map((ns) => ns.binding).join(", ") || "none";
    fail(
      `binding "${binding}" not found in ${configPath}${environment === undefined ? "" : ` for environment "${environment}"`} (KV bindings there: ${known}); add { "binding": "${binding}" } under kv_namespaces`,
    );
  }
  return {
    configPath,
    projectRoot: dirname(configPath),
    binding,
    id: namespace.id,
    accountId: parsed.account_id,
  };
}

// Runs one of wrangler's readers, turning its parse errors into one line with where they are.
function readRaw<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    const file = (error as { location?: { file?: unknown } }).location?.file;
    fail(
      `cannot read ${typeof file === "string" ? "" : "the wrangler configuration: "}${describeConfigError(error)}`,
      error,
    );
  }
}

// Wrangler's ParseError keeps the file, line and column apart from its message.
function describeConfigError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const at = (
    error as { location?: { file?: unknown; line?: unknown; column?: unknown; lineText?: unknown } }
  ).location;
  if (!at || typeof at.file !== "string") return message;
  const where = `${at.file}:${String(at.line)}:${String(at.column)}`;
  const text = typeof at.lineText === "string" ? `: ${at.lineText.trim()}` : "";
  return `${where}: ${message}${text}; fix the file there`;
}
