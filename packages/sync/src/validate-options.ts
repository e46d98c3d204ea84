// Checks the options a sync or prune is given, so a wrong value is refused by name before any work.
import { CONTENT_ENCODINGS, isPreviewName, KV_VALUE_LIMIT } from "@kv-assets/runtime/format";
import { fail } from "./errors.js";

/**
 * Throws naming the first option whose value is of the wrong type or out of range. Options left
 * `undefined` take their defaults; `0`, `false` and `""` are values and are checked like any.
 */
export function validateSyncOptions(options: Record<string, unknown>): void {
  for (const [name, rule] of Object.entries(RULES)) {
    const value = options[name];
    if (value === undefined) continue;
    const problem = rule(value);
    if (problem) fail(`option ${name} ${problem} (got ${show(value)})`);
  }
  const r2 = options.r2 as Record<string, unknown> | undefined;
  if (r2 !== undefined) {
    if (
      typeof r2 !== "object" ||
      r2 === null ||
      typeof r2.binding !== "string" ||
      r2.binding === ""
    )
      fail(`option r2 must be { binding: "BUCKET", minSize? } (got ${show(r2)})`);
    const problem = r2.minSize === undefined ? undefined : whole(0)(r2.minSize);
    if (problem) fail(`option r2.minSize ${problem} (got ${show(r2.minSize)})`);
  }
  const retain = options.retain as Record<string, unknown> | false | undefined;
  if (retain !== undefined && retain !== false) {
    if (typeof retain !== "object" || retain === null)
      fail(`option retain must be false or { deploys?, seconds? } (got ${show(retain)})`);
    for (const name of ["deploys", "seconds"]) {
      const problem = retain[name] === undefined ? undefined : whole(0)(retain[name]);
      if (problem) fail(`option retain.${name} ${problem} (got ${show(retain[name])})`);
    }
  }
  const preview = options.preview;
  if (preview !== undefined && !isPreviewName(preview)) {
    fail(
      `option preview must be 1-22 lower-case letters, digits or "-", starting with a letter or digit (got ${show(preview)})`,
    );
  }
}

type Rule = (value: unknown) => string | undefined;

const whole =
  (min: number, max = Number.MAX_SAFE_INTEGER): Rule =>
  (value) =>
    typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
      ? undefined
      : max === Number.MAX_SAFE_INTEGER
        ? `must be a whole number of at least ${min}`
        : `must be a whole number from ${min} to ${max}`;

const finite: Rule = (value) =>
  typeof value === "number" && Number.isFinite(value) ? undefined : "must be a number of seconds";

const ofType =
  (type: "string" | "boolean" | "function" | "object"): Rule =>
  (value) =>
    typeof value === type && value !== null ? undefined : `must be a ${type}`;

const strings: Rule = (value) =>
  Array.isArray(value) && value.every((v) => typeof v === "string")
    ? undefined
    : "must be a list of strings";

const RULES: Record<string, Rule> = {
  keep: whole(1),
  graceSeconds: finite,
  maxFileSize: whole(1),
  partSize: whole(1, KV_VALUE_LIMIT),
  shardSize: whole(1),
  batchBytes: whole(1),
  precompressMinSize: whole(0),
  brotliQuality: whole(0, 11),
  prefix: ofType("string"),
  basePath: ofType("string"),
  project: ofType("string"),
  binding: ofType("string"),
  config: ofType("string"),
  environment: ofType("string"),
  cwd: ofType("string"),
  persistTo: ofType("string"),
  remote: ofType("boolean"),
  precompress: (value) =>
    typeof value === "boolean" ||
    (Array.isArray(value) && value.every((v) => CONTENT_ENCODINGS.includes(v)))
      ? undefined
      : `must be true, false or a list of ${CONTENT_ENCODINGS.map((e) => `"${e}"`).join(", ")}`,
  digests: ofType("boolean"),
  acceptVariants: ofType("boolean"),
  includeSourceMaps: ofType("boolean"),
  allowEmpty: ofType("boolean"),
  earlyHints: ofType("boolean"),
  dryRun: ofType("boolean"),
  force: ofType("boolean"),
  exclude: strings,
  immutable: ofType("function"),
  onProgress: ofType("function"),
  remoteOptions: ofType("object"),
};

function show(value: unknown): string {
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
