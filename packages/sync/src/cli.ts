// The kv-assets command: sync a folder to KV, prune what no recent deploy references, clear locks.
import { readFileSync } from "node:fs";
import { open, rm, stat, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { CONTENT_ENCODINGS } from "@kv-assets/runtime/format";
import type { ContentEncoding } from "@kv-assets/runtime";
import ignore from "ignore";
import { KvAssetsError, describeError, fail } from "./errors.js";
import { terminalProgress } from "./progress.js";
import { pruneAssets } from "./prune.js";
import { interruptible, signalExitCode, type Interruptible } from "./signals.js";
import type { SyncLogger, SyncOptions } from "./options.js";
import { syncAssets } from "./sync.js";
import { unlockAssets } from "./unlock.js";
import { listDeploys, removePreview, rollbackDeploy } from "./deploys.js";
import { pushAssets } from "./push.js";

/** This package's version, for --version. */
const VERSION = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

const HELP = `kv-assets: serve a site's files from Workers KV

Usage:
  kv-assets sync <dir> [options]   upload new files of <dir> and publish its manifest
  kv-assets prune [options]        delete keys no recent manifest references
  kv-assets unlock [options]       remove the lock of a sync or prune that died
  kv-assets deploys [options]      list the deploys kept and the previews
  kv-assets rollback [<deploy>]    make an earlier deploy live again (default: the one before)
  kv-assets remove-preview <name>  remove a preview published with sync --preview
  kv-assets push <dir> --to <url> --project <id>
                                   publish <dir> through a platform Worker's upload API

Run "kv-assets <command> --help" for the options of a command, "kv-assets --version" for the version.
`;

const SHARED = `  --binding <name>    KV binding in the wrangler config (default ASSETS)
  --config <path>     wrangler config (default: found as wrangler finds it, here or above)
  --env <name>        wrangler environment
  --remote            write to the real namespace (needs CLOUDFLARE_API_TOKEN); default is local KV,
                      the state "wrangler dev" reads. KV_ASSETS_REMOTE=1 does the same.
  --prefix <p>        prefix of every key (default "")
  --project <id>      multi-tenant project: keys go under project/<id>/
  --persist-to <dir>  wrangler's local state folder (default .wrangler/state/v3 beside the config)
  --r2 <binding>      keep large files in this R2 bucket (local state only), the rest in KV`;

const SYNC_HELP = `Usage: kv-assets sync <dir> [options]

Hashes every file of <dir>, uploads the content KV does not have yet, then records the manifest
in KV. Nothing is published unless every upload succeeded; re-running resumes.

Options:
${SHARED}
  --out <file>        also write the manifest as JSON (import it in your Worker)
  --exclude <glob>    leave matching files out (gitignore syntax; repeatable)
  --immutable <glob>  files whose names hold a content hash, cached for a year (gitignore syntax;
                      repeatable; replaces the default, Vite's assets/name-HASH.ext)
  --max-file-size <n> largest file accepted, in bytes (default 1073741824, 1 GiB)
  --base-path <path>  URL path the files are served under, e.g. /app/ (default /)
  --allow-empty       publish even when <dir> has no file, replacing the live site with nothing
  --source-maps       publish *.map files too
  --no-precompress    do not make precompressed variants
  --precompress <list>  encodings to precompress to, of br, zstd and gzip (default br,gzip)
  --digests           record each body's sha-256, sent as Repr-Digest (RFC 9530)
  --no-accept-variants  do not pick photo.avif/.webp beside photo.jpg, or page.md beside
                      page.html, by the request's Accept
  --brotli-quality <n>  brotli quality of the br variants, 0-11 (default 11)
  --early-hints       send each HTML page's preloads, stylesheets and module scripts as its Link
                      header, for Cloudflare's 103 Early Hints
  --r2-min-size <n>   bytes from which a file goes to the --r2 bucket (default 1048576)
  --preview <name>    publish as the preview <name>, leaving the live deploy as it is
  --retain-deploys <n>  keep serving fingerprinted files a deploy drops for n more deploys
                      (default 10; 0 turns retention off)
  --retain-days <n>   ... and for at most n days (default 7)
  -h, --help          show this help

_headers and _redirects at the root of <dir> are read as the site's rules (the syntax of Workers
Static Assets and Pages) and compiled into the manifest; they are never uploaded as files.
`;

const PRUNE_HELP = `Usage: kv-assets prune [options]

Deletes keys referenced by none of the newest --keep manifests. Run it after a successful deploy.

Options:
${SHARED}
  --keep <n>          manifests (deploys) to keep (default 3)
  --grace <seconds>   never delete keys uploaded this recently (default 3600)
  --dry-run           list what would be deleted (keys with the paths they served), delete nothing
  -h, --help          show this help
`;

const UNLOCK_HELP = `Usage: kv-assets unlock [options]

Removes the lock records of syncs and prunes that died. A lock is kept alive by its run; one whose
process is gone from this host, or that was not renewed for three minutes, is taken over by the
next run anyway. This removes them now, and refuses a lock that looks alive unless --force.

Options:
${SHARED}
  --force             also remove locks that look alive
  -h, --help          show this help
`;

const DEPLOYS_HELP = `Usage: kv-assets deploys [options]

Lists the deploys the history keeps, newest first (when, files, what changed against the deploy
before, which one is live), and the previews.

Options:
${SHARED}
  -h, --help          show this help
`;

const ROLLBACK_HELP = `Usage: kv-assets rollback [<deploy>] [options]

Makes an earlier deploy live again in one write: <deploy> is its number as kv-assets deploys shows
it (the time its sync ran, in ms), by default the deploy before the live one. Refuses when a prune
deleted keys it needs. Workers that read the manifest with loadManifest serve it within a minute;
a Worker with the manifest compiled in keeps its own, so roll that Worker back too.

Options:
${SHARED}
  -h, --help          show this help
`;

const REMOVE_PREVIEW_HELP = `Usage: kv-assets remove-preview <name> [options]

Removes the preview <name>; the next prune deletes the files only it used.

Options:
${SHARED}
  -h, --help          show this help
`;

const PUSH_HELP = `Usage: kv-assets push <dir> --to <url> --project <id> [options]

Publishes <dir> as project <id> through a platform Worker that serves createUploadHandler at <url>
(from @kv-assets/runtime/publish): lists the files, uploads the bodies the Worker lacks in batches,
then publishes. Running it again after an interruption sends only what is left.

Options:
  --to <url>          URL of the upload API (its basePath)
  --project <id>      the project to publish
  --header <h: v>     a header every request carries (repeatable); KV_ASSETS_PUSH_TOKEN in the
                      environment sends "Authorization: Bearer <token>"
  --exclude <glob>    leave matching files out (gitignore syntax; repeatable)
  --no-precompress    do not make and send br/gzip variants
  --source-maps       publish *.map files too
  -h, --help          show this help
`;

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs the CLI with `argv` (without node and the script) and returns the exit code. */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  let interrupt: Interruptible | undefined;
  try {
    if (command === undefined || command === "--help" || command === "-h" || command === "help") {
      io.stdout(HELP);
      return command === undefined ? 1 : 0;
    }
    if (command === "--version" || command === "-v") {
      io.stdout(`${VERSION}\n`);
      return 0;
    }
    const commands = {
      sync,
      prune,
      unlock,
      deploys,
      rollback,
      "remove-preview": removePreviewCommand,
      push,
    };
    if (!Object.hasOwn(commands, command)) {
      io.stderr(
        `[kv-assets] unknown command "${command}"; use sync, prune, unlock, deploys, rollback, remove-preview or push (see kv-assets --help)\n`,
      );
      return 1;
    }
    // SIGINT and SIGTERM stop the run cleanly and make it fail, instead of ending the process.
    interrupt = interruptible();
    const code = await commands[command as keyof typeof commands](rest, io, interrupt.signal);
    if (interrupt.signal.aborted) {
      // The signal came once nothing was left to stop: the run finished, but the user asked to stop.
      io.stderr(
        `[kv-assets] interrupted by ${String(interrupt.signal.reason)} after the ${command} had finished\n`,
      );
      return signalExitCode(String(interrupt.signal.reason));
    }
    return code;
  } catch (error) {
    const message =
      error instanceof KvAssetsError ? error.message : `[kv-assets] ${describeError(error)}`;
    io.stderr(`${message}\n`);
    return interrupt?.signal.aborted ? signalExitCode(String(interrupt.signal.reason)) : 1;
  } finally {
    interrupt?.end();
  }
}

const sharedOptions = {
  binding: { type: "string" },
  config: { type: "string" },
  env: { type: "string" },
  remote: { type: "boolean" },
  prefix: { type: "string" },
  project: { type: "string" },
  "persist-to": { type: "string" },
  r2: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

async function sync(args: string[], io: CliIo, signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(() =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        ...sharedOptions,
        out: { type: "string" },
        "r2-min-size": { type: "string" },
        "base-path": { type: "string" },
        exclude: { type: "string", multiple: true },
        immutable: { type: "string", multiple: true },
        "source-maps": { type: "boolean" },
        "no-precompress": { type: "boolean" },
        precompress: { type: "string" },
        digests: { type: "boolean" },
        "no-accept-variants": { type: "boolean" },
        "max-file-size": { type: "string" },
        "allow-empty": { type: "boolean" },
        preview: { type: "string" },
        "brotli-quality": { type: "string" },
        "early-hints": { type: "boolean" },
        "retain-deploys": { type: "string" },
        "retain-days": { type: "string" },
      },
    }),
  );
  if (values.help) {
    io.stdout(SYNC_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    io.stderr(
      "[kv-assets] sync needs exactly one folder: kv-assets sync <dir> (see kv-assets sync --help)\n",
    );
    return 1;
  }
  const maxFileSize =
    values["max-file-size"] === undefined
      ? undefined
      : wholeNumber("--max-file-size", values["max-file-size"]);
  // Checked before anything is uploaded, so a bad path cannot fail a sync after it published.
  const out = values.out === undefined ? undefined : await writable(resolve(values.out));
  const progress = terminalProgress();
  const logger = {
    info: (m: string) => (progress.end(), io.stdout(`${m}\n`)),
    warn: (m: string) => (progress.end(), io.stderr(`${m}\n`)),
  };
  const retainDeploys =
    values["retain-deploys"] === undefined
      ? undefined
      : wholeNumber("--retain-deploys", values["retain-deploys"]);
  const retainDays =
    values["retain-days"] === undefined
      ? undefined
      : wholeNumber("--retain-days", values["retain-days"]);
  let manifest;
  try {
    ({ manifest } = await syncAssets({
      onProgress: progress.onProgress,
      dir: resolve(positionals[0] as string),
      ...connection(values),
      signal,
      maxFileSize,
      allowEmpty: values["allow-empty"],
      preview: values.preview,
      earlyHints: values["early-hints"],
      brotliQuality:
        values["brotli-quality"] === undefined
          ? undefined
          : wholeNumber("--brotli-quality", values["brotli-quality"]),
      retain:
        retainDeploys === undefined && retainDays === undefined
          ? undefined
          : { deploys: retainDeploys, seconds: retainDays && retainDays * 24 * 3600 },
      basePath: values["base-path"],
      exclude: values.exclude,
      immutable: values.immutable && matching(values.immutable),
      includeSourceMaps: values["source-maps"],
      precompress: values["no-precompress"]
        ? false
        : values.precompress === undefined
          ? undefined
          : encodingList(values.precompress),
      digests: values.digests,
      acceptVariants: values["no-accept-variants"] ? false : undefined,
      r2:
        values.r2 === undefined
          ? undefined
          : {
              binding: values.r2,
              minSize:
                values["r2-min-size"] === undefined
                  ? undefined
                  : wholeNumber("--r2-min-size", values["r2-min-size"]),
            },
      logger,
    }));
  } catch (error) {
    await out?.discard();
    throw error;
  }
  if (out) {
    await writeFile(out.path, `${JSON.stringify(manifest)}\n`);
    io.stdout(`[kv-assets] wrote the manifest to ${values.out}\n`);
  }
  return 0;
}

async function prune(args: string[], io: CliIo, signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(() =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        ...sharedOptions,
        keep: { type: "string" },
        grace: { type: "string" },
        "dry-run": { type: "boolean" },
      },
    }),
  );
  const early = helpOrNoFolder("prune", PRUNE_HELP, values.help, positionals, io);
  if (early !== undefined) return early;
  const keep = values.keep === undefined ? undefined : wholeNumber("--keep", values.keep);
  const graceSeconds =
    values.grace === undefined ? undefined : wholeNumber("--grace", values.grace);
  const result = await pruneAssets({
    ...connection(values),
    keep,
    graceSeconds,
    dryRun: values["dry-run"],
    logger: ioLogger(io),
    signal,
  });
  if (result.dryRun) {
    for (const key of result.deleted) {
      const paths = result.paths?.[key];
      io.stdout(
        `${key}  ${paths?.length ? paths.join(", ") : "(named by no record this prune deletes)"}\n`,
      );
    }
    for (const record of result.deletedManifests) io.stdout(`${record}  (history record)\n`);
  }
  return 0;
}

async function unlock(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(() =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { ...sharedOptions, force: { type: "boolean" } },
    }),
  );
  const early = helpOrNoFolder("unlock", UNLOCK_HELP, values.help, positionals, io);
  if (early !== undefined) return early;
  await unlockAssets({ ...connection(values), force: values.force, logger: ioLogger(io) });
  return 0;
}

async function deploys(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseShared(args);
  const early = helpOrNoFolder("deploys", DEPLOYS_HELP, values.help, positionals, io);
  if (early !== undefined) return early;
  const listed = await listDeploys({ ...connection(values), logger: ioLogger(io) });
  if (listed.deploys.length === 0) io.stdout("no deploy has been published here\n");
  for (const deploy of listed.deploys) {
    io.stdout(
      `${deploy.created}  ${new Date(deploy.created).toISOString()}  ${deploy.files} files  ` +
        `+${deploy.added} -${deploy.removed} ~${deploy.changed}${deploy.live ? "  (live)" : ""}\n`,
    );
  }
  for (const preview of listed.previews) {
    io.stdout(
      `preview ${preview.name}  ${new Date(preview.created).toISOString()}  ${preview.files} files\n`,
    );
  }
  return 0;
}

async function rollback(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseShared(args);
  if (values.help) {
    io.stdout(ROLLBACK_HELP);
    return 0;
  }
  if (positionals.length > 1) {
    io.stderr("[kv-assets] rollback takes at most one deploy (see kv-assets rollback --help)\n");
    return 1;
  }
  const created =
    positionals[0] === undefined ? undefined : wholeNumber("<deploy>", positionals[0]);
  await rollbackDeploy({ ...connection(values), created, logger: ioLogger(io) });
  return 0;
}

async function removePreviewCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseShared(args);
  if (values.help) {
    io.stdout(REMOVE_PREVIEW_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    io.stderr(
      "[kv-assets] remove-preview needs the name of one preview (see kv-assets remove-preview --help)\n",
    );
    return 1;
  }
  await removePreview({
    ...connection(values),
    name: positionals[0] as string,
    logger: ioLogger(io),
  });
  return 0;
}

async function push(args: string[], io: CliIo, signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(() =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        to: { type: "string" },
        project: { type: "string" },
        header: { type: "string", multiple: true },
        exclude: { type: "string", multiple: true },
        "no-precompress": { type: "boolean" },
        "source-maps": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }),
  );
  if (values.help) {
    io.stdout(PUSH_HELP);
    return 0;
  }
  if (positionals.length !== 1 || values.to === undefined || values.project === undefined) {
    io.stderr(
      "[kv-assets] push needs one folder, --to <url> and --project <id>: kv-assets push dist --to https://platform.example/api/ --project acme (see kv-assets push --help)\n",
    );
    return 1;
  }
  const headers: Record<string, string> = {};
  const token = process.env.KV_ASSETS_PUSH_TOKEN;
  if (token) headers["Authorization"] = `Bearer ${token}`;
  for (const header of values.header ?? []) {
    const colon = header.indexOf(":");
    if (colon < 1) throw new KvAssetsError(`--header takes "Name: value", got "${header}"`);
    headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  }
  await pushAssets({
    dir: resolve(positionals[0] as string),
    url: values.to,
    project: values.project,
    headers,
    exclude: values.exclude,
    includeSourceMaps: values["source-maps"],
    precompress: values["no-precompress"] ? false : undefined,
    logger: ioLogger(io),
    signal,
  });
  return 0;
}

// The flags of a command that takes only where to connect.
function parseShared(args: string[]) {
  return parse(() =>
    parseArgs({ args, allowPositionals: true, strict: true, options: sharedOptions }),
  );
}

// A command's summary goes to stdout, its warnings to stderr.
function ioLogger(io: CliIo): SyncLogger {
  return { info: (m) => io.stdout(`${m}\n`), warn: (m) => io.stderr(`${m}\n`) };
}

// Answers --help, or a folder given to a command that takes none, with its exit code.
function helpOrNoFolder(
  command: string,
  help: string,
  wantsHelp: boolean | undefined,
  positionals: string[],
  io: CliIo,
): number | undefined {
  if (wantsHelp) {
    io.stdout(help);
    return 0;
  }
  if (positionals.length === 0) return undefined;
  io.stderr(
    `[kv-assets] ${command} takes no folder (got "${positionals[0]}"); see kv-assets ${command} --help\n`,
  );
  return 1;
}

// Opens `path` for writing without changing it; `discard` removes it again if it was created here.
async function writable(path: string): Promise<{ path: string; discard(): Promise<void> }> {
  const existed = await stat(path).then(
    () => true,
    () => false,
  );
  const handle = await open(path, "a").catch((error: unknown) =>
    fail(`cannot write --out ${path}: ${describeError(error)}; nothing was synced`, error),
  );
  await handle.close();
  return { path, discard: async () => (existed ? undefined : rm(path, { force: true })) };
}

// Paths matching any of `globs` (gitignore syntax, relative to the folder).
function matching(globs: string[]): (path: string) => boolean {
  const patterns = ignore().add(globs);
  return (path) => patterns.ignores(path.slice(1));
}

// Turns parseArgs' own errors (unknown flag, missing value) into one clear line.
function parse<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw new KvAssetsError(`${describeError(error)} (see --help)`);
  }
}

// The flags both commands share: where to connect and under which prefix.
function connection(values: {
  binding?: string;
  config?: string;
  env?: string;
  remote?: boolean;
  prefix?: string;
  project?: string;
  "persist-to"?: string;
  r2?: string;
}): Pick<
  SyncOptions,
  "binding" | "config" | "environment" | "remote" | "prefix" | "project" | "persistTo" | "r2"
> {
  return {
    binding: values.binding,
    config: values.config,
    environment: values.env,
    remote: values.remote,
    prefix: values.prefix,
    project: values.project,
    persistTo: values["persist-to"],
    r2: values.r2 === undefined ? undefined : { binding: values.r2 },
  };
}

function encodingList(value: string): ContentEncoding[] {
  const encodings = value.split(",").map((e) => e.trim());
  const unknown = encodings.find((e) => !CONTENT_ENCODINGS.includes(e as ContentEncoding));
  if (unknown !== undefined || value.trim() === "") {
    throw new KvAssetsError(
      `--precompress takes encodings of br, zstd and gzip separated by commas, got "${value}"`,
    );
  }
  return encodings as ContentEncoding[];
}

function wholeNumber(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new KvAssetsError(`${flag} takes a whole number, got "${value}"`);
  return Number(value);
}
