// The sync's side of the manifest: the key prefix of a site, parsing stored records, and what a
// sync carries over from one deploy to the next.
import {
  isProjectId,
  KV_KEY_LIMIT,
  KV_VALUE_LIMIT,
  longestKey,
  projectPrefix,
  validateManifestRecord,
} from "@kv-assets/runtime/format";
import { validateManifest, type AssetManifest, type ManifestIndex } from "@kv-assets/runtime";
import { fail } from "./errors.js";

/**
 * Turns `prefix` and `project` into the key prefix of a site, checking both, and that the site's
 * longest key (content of up to `maxParts` parts) fits KV's key limit.
 */
export function resolvePrefix(
  prefix: string,
  project: string | undefined,
  maxParts = DEFAULT_MAX_PARTS,
): string {
  if (/[\u0000-\u001f\u007f]/.test(prefix))
    fail(
      `prefix ${JSON.stringify(prefix)} contains control characters; use letters, digits, "/", "-" or "_"`,
    );
  if (project !== undefined && !isProjectId(project)) {
    fail(
      `project id ${JSON.stringify(project)} is not valid; use 1-64 letters, digits, "-" or "_", starting with a letter or digit`,
    );
  }
  const result = project === undefined ? prefix : projectPrefix(prefix, project);
  const longest = longestKey(result, maxParts);
  if (longest > KV_KEY_LIMIT) {
    const room = KV_KEY_LIMIT - (longest - Buffer.byteLength(result));
    fail(
      `prefix is ${Buffer.byteLength(result)} bytes, so keys would reach ${longest} bytes; KV keys are limited to ${KV_KEY_LIMIT} bytes, so keep the prefix (with project/<id>/) to ${room} bytes`,
    );
  }
  return result;
}

/** Parts of the largest file by default: 1 GiB (`maxFileSize`) in 25 MiB parts. */
export const DEFAULT_MAX_PARTS = Math.ceil((1024 * 1024 * 1024) / KV_VALUE_LIMIT);

/** Parses the newest pointer: a whole manifest, or the index of a sharded one. */
export function parseManifestRecord(text: string): AssetManifest | ManifestIndex {
  const value: unknown = JSON.parse(text);
  const { problem } = validateManifestRecord(value);
  if (problem) throw new Error(problem);
  return value as AssetManifest | ManifestIndex;
}

/** Parses a stored manifest record; throws an Error naming the problem when it is not valid JSON or not a manifest. */
export function parseManifest(text: string): AssetManifest {
  const value: unknown = JSON.parse(text);
  const problem = validateManifest(value);
  if (problem) throw new Error(problem);
  return value as AssetManifest;
}
